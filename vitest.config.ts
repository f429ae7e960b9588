import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Exchange time is always Asia/Shanghai; running the suite in another zone proves we never
    // lean on the host's TZ.
    env: { TZ: 'America/New_York' },
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
  },
});
