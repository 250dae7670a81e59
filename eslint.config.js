// ESLint (flat config) with typescript-eslint. The type-aware rules catch what hurts a long-running
// gateway most: a promise nobody awaits or catches, an async function handed to a callback that
// ignores its rejection, and a switch that silently misses a newly added union member.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'apps/dashboard/dist/', 'bench/.out/', 'test/.out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Allowed where a library's types cannot follow a generic name (Socket.IO's emit, Nest's
      // factory signatures, Kysely migrations and run-time table names); each such place says why.
      '@typescript-eslint/no-explicit-any': 'off',
      // Shared listeners that read their socket from `this` keep a reference to their owner on purpose.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['adapter', 'backpressure'] }],
    },
  },
  {
    // Tests and benchmarks read JSON from the wire and drive raw protocol objects: `any` is honest there.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
