// Typed lint: typescript-eslint's type-checked rules over the whole project.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'fixtures/', 'bench/results/', 'coverage/', '.tmp/', 'dist-bin/', 'dist-py/', 'dist-deb/'] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Template literals with numbers and the like are fine in messages.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  // Layering (README, "How the code is laid out"): enforced here, not by habit.
  {
    // The CLI is a client of the public API (the package's entry points) and of generic I/O and text helpers.
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['../*.ts', '../*/**', '!../index.ts', '!../errors.ts', '!../trust.ts', '!../version.ts', '!../qualify/index.ts', '!../monitor/index.ts', '!../io/*', '!../text/*'],
          message: 'the CLI uses only the public API (src/index.ts, src/errors.ts, src/trust.ts, src/qualify/index.ts, src/monitor/index.ts) and io/, text/ helpers',
        }],
      }],
    },
  },
  {
    // Format and policy code is pure: bytes and values in, values out; no file system, network or processes.
    files: ['src/cosign/**/*.ts', 'src/bundle/**/*.ts', 'src/policy/**/*.ts', 'src/oci/**/*.ts', 'src/reference/**/*.ts', 'src/json/**/*.ts', 'src/text/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:child_process', 'node:dns', 'node:os'].map((name) => ({ name, message: 'format and policy code does no I/O' })),
        patterns: [{ group: ['../registry/*', '../layout/*', '../io/*', '../verify/*', '../processor/*', '../trust-root/*', '../audit/*', '../cache/*', '../cli/*'], message: 'format and policy code depends only on other pure code' }],
      }],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'format and policy code does no I/O' }],
    },
  },
  {
    // The registry client knows nothing of verification.
    files: ['src/registry/**/*.ts', 'src/layout/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../verify/*', '../policy/*', '../cosign/*', '../bundle/*', '../trust-root/*', '../processor/*', '../audit/*', '../cache/*', '../cli/*', '../discovery/*'], message: 'the registry client knows nothing of verification' }],
      }],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
