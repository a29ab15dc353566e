import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'kube-testenv',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // One control plane for the run, shared by the files that call useTestEnv().
    globalSetup: ['./src/vitest-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
