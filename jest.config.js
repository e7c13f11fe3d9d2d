/** One jest run for everything but infra (which has its own package and runner). */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', isolatedModules: true }] },
  moduleNameMapper: { '^@meshgate/(domain|contracts)$': '<rootDir>/libs/$1/src', '^@meshgate/contracts/ip$': '<rootDir>/libs/contracts/src/ip',
    '^@meshgate/contracts/timestamp$': '<rootDir>/libs/contracts/src/timestamp.decorator' },
};
module.exports = {
  // PostgreSQL for the specs that run on both stores: the URLs .ci/run exports, or a throwaway cluster started here.
  globalSetup: '<rootDir>/apps/control-plane/test/support/postgres.ts',
  globalTeardown: '<rootDir>/apps/control-plane/test/support/postgres-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/apps/*/test/**/*.e2e-spec.ts'], testTimeout: 60000 },
  ],
};
