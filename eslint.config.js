// `npm run lint`: typescript-eslint's recommended rules plus the ones that catch
// what review keeps finding (promises nobody awaits, SQL of pg-boss outside its module).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.test-data/**', '.test-artifacts/**', 'scripts/patch-postgres.mjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() and describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'off',
      // An empty catch is how the code says "best effort" (killing a process that may be gone).
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // pg-boss's tables are read and written only by core/queue/ (one module per
    // operation, pinned by spec/hardening/queueSchema.test.ts), so a pg-boss
    // release that changes them breaks one place. Tests and the benchmark's
    // pg-boss peer look at the tables from outside.
    files: ['**/*.ts'],
    ignores: ['core/queue/**', 'spec/**', 'bench/suite/peers/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'TemplateElement[value.raw=/pgboss\\./]', message: "SQL on pg-boss's tables (pgboss.*) belongs in core/queue/: add or use a function there." },
        { selector: 'Literal[value=/pgboss\\./]', message: "SQL on pg-boss's tables (pgboss.*) belongs in core/queue/: add or use a function there." },
      ],
    },
  },
);
