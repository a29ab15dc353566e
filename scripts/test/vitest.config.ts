import { defineProject } from 'vitest/config';

/** Checks of the packages as users get them: packed tarballs installed outside the workspace. */
export default defineProject({
  test: {
    name: 'packages',
    include: ['**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
