import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'app-factory',
    include: ['test/**/*.test.ts'],
  },
});
