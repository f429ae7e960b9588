import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'bridges/**', 'coverage/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Layering: the domain imports nothing of ours outside itself; the engine never reaches up into
  // chat, the CLI or the composition root; market and broker adapters never reach into the engine.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(engine|chat|market|broker|store|cli|net|app|config|log)(/|\\.ts$)',
              message: 'src/domain is pure: import only from src/domain.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(chat|cli)/|^\\.\\./app\\.ts$',
              message: 'The engine must not import chat, the CLI or app.ts: pass what it needs in.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/market/**/*.ts', 'src/broker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(engine|chat|cli)/|^\\.\\./app\\.ts$',
              message: 'Adapters must not import the engine, chat, the CLI or app.ts.',
            },
          ],
        },
      ],
    },
  },
);
