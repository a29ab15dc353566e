import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'fleet-example',
    include: ['test/**/*.test.ts'],
    // One real etcd + kube-apiserver for the run; tests reach it with useTestEnv().
    globalSetup: ['@converge/kube-testenv/vitest-setup'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
