import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'ci-push',
    include: ['test/**/*.test.ts'],
    // One real etcd + kube-apiserver for the project's run, reached with useTestEnv().
    globalSetup: ['@converge/kube-testenv/vitest-setup'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
  },
});
