import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'sops',
    include: ['test/**/*.test.ts'],
    // Builds (or reuses from the cache) the reference sops binary once per run, and starts one
    // real etcd + kube-apiserver for the cluster test.
    globalSetup: ['test/global-setup.ts', '@converge/kube-testenv/vitest-setup'],
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
