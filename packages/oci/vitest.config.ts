import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'oci',
    include: ['test/**/*.test.ts'],
    // Builds (or reuses from the cache) the registry and the reference oras and cosign binaries
    // once per run, and starts one real etcd + kube-apiserver for the cluster test.
    globalSetup: ['test/global-setup.ts', '@converge/kube-testenv/vitest-setup'],
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
