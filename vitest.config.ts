import { defineConfig } from 'vitest/config';

// Suites that touch dockerd, bridges or iptables keep to resources of their own, so
// files may run in parallel: each takes its own CNI bridge and subnet from
// createPodNetEnv(index) in test/helpers/pod-net.ts (10.88.20+index.0/24), and each
// shim instance its own state dir, whose path is the value of the io.cri-shim.managed
// label on everything it creates (src/runtime/labels.ts), so one shim never lists or
// removes another's containers.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
