import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-output/**', '.cache/**', 'samples/**/*.exe'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // Nothing under tracer/ may depend on the editor.
    files: ['tracer/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/extension/**', '**/adapter/**'] }] },
  },
  {
    // The model is pure: it never reaches the capture engine, the file system or the clock.
    files: ['tracer/model/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode', 'fs', 'node:fs', 'child_process', 'node:child_process'], patterns: ['**/win32/**', '**/export/**', '**/extension/**', '**/adapter/**'] }],
    },
  },
  {
    // The trace format never imports the model.
    files: ['tracer/trace/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/model/**', '**/win32/**', '**/export/**'] }] },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
