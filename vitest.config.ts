import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Two cores: property and crash tests are CPU-bound, so more workers only add contention.
    maxWorkers: 2,
    testTimeout: 60_000,
  },
});
