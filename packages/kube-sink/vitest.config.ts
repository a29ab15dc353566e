import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kube-sink', include: ['test/**/*.test.ts'] },
});
