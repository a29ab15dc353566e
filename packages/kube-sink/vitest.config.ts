import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'kube-sink',
    include: ['test/**/*.test.ts'],
    // One real etcd + kube-apiserver for the run, shared by the files that call useTestEnv().
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
