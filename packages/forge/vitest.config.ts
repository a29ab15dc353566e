import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'forge',
    include: ['test/**/*.test.ts'],
    // Builds (or reuses from the cache outside the clone) the Gitea that startGitea() runs.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
