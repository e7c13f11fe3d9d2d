import { Testing } from 'cdktf';
// Brings the matchers' type declarations (jest.Matchers augmentation) into the type check.
import 'cdktf/lib/testing/adapters/jest';

// Registers cdktf's matchers (toHaveResourceWithProperties, toHaveDataSourceWithProperties, ...).
Testing.setupJest();
