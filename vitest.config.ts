import { defineConfig } from 'vitest/config';

// Suites that touch dockerd, bridges or iptables each use their own names, labels
// and subnet (see test/helpers/resources.ts), so files may run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
