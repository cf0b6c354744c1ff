/** Jest: unit, integration (Azurite, nock, local servers) and e2e (CLI as a process). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/releaseInterceptors.ts'],
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 30000,
};
