/** Jest in native ESM mode (Nest 12 is ESM-only), TypeScript through @swc/jest. */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/{src,libs,apps,test,bench}/**/*.{spec,e2e-spec}.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^#contracts$': '<rootDir>/libs/contracts/src/index.ts',
    '^#realtime$': '<rootDir>/libs/realtime/src/index.ts',
    '^#auth$': '<rootDir>/libs/auth/src/index.ts',
    '^#http$': '<rootDir>/libs/http/src/index.ts',
    '^#notifications$': '<rootDir>/libs/notifications/src/index.ts',
    '^#gamification$': '<rootDir>/libs/gamification/src/index.ts',
    '^#telemetry$': '<rootDir>/libs/telemetry/src/index.ts',
    '^#observability$': '<rootDir>/libs/observability/src/index.ts',
    '^#redis$': '<rootDir>/libs/redis/src/index.ts',
    '^#client$': '<rootDir>/libs/client/src/index.ts',
    '^#database$': '<rootDir>/libs/database/src/index.ts',
    '^#alarms$': '<rootDir>/libs/alarms/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  testTimeout: 30_000,
  maxWorkers: 2,
};
