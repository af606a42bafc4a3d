// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The hashing core and the matcher run unchanged in a browser (web/ hashes a
// victim's images on their own device), so their top-level files may not reach
// for Node or for the server side. Node-only helpers live in subfolders.
const browserSafe = {
  patterns: [
    { group: ['node:*'], message: 'src/hash and src/match top-level files must run in a browser.' },
    {
      group: ['sharp', 'pg', 'kysely', '@electric-sql/*', 'hono', '@hono/*', 'pino'],
      message: 'src/hash and src/match top-level files must run in a browser.',
    },
    {
      group: ['../store/*', '../jobs/*', '../api/*', '../cli/*', '../config.js', './*/**'],
      message:
        'The browser-safe core may not depend on server code or on its Node-only subfolders.',
    },
  ],
  paths: ['fs', 'path', 'crypto', 'os', 'worker_threads', 'child_process', 'stream', 'buffer'].map(
    (name) => ({ name, message: 'Node built-ins are not browser-safe.' }),
  ),
};

export default tseslint.config(
  // *.as.ts: AssemblyScript (its own types, checked by its compiler, `npm run build:wasm`).
  { ignores: ['dist/', 'node_modules/', 'data/', '.bench/', '.tmp/', 'coverage/', '**/*.as.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Function']",
          message: 'No run-time code generation (CSP).',
        },
        {
          selector: "CallExpression[callee.name='eval']",
          message: 'No run-time code generation (CSP).',
        },
      ],
    },
  },
  {
    files: ['src/hash/*.ts', 'src/match/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', browserSafe] },
  },
  {
    files: ['web/**/*.{js,ts}'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
