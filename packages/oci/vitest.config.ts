import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'oci',
    include: ['test/**/*.test.ts'],
    // Builds (or reuses from the cache) the registry and the reference oras binary once per run.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
