import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'sops',
    include: ['test/**/*.test.ts'],
    // Builds (or reuses from the cache) the reference sops binary once per run.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
