import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'notify',
    include: ['test/**/*.test.ts'],
  },
});
