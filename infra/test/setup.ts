import { Testing } from 'cdktf';

// Registers cdktf's matchers (toHaveResourceWithProperties, toHaveDataSourceWithProperties, ...).
Testing.setupJest();
