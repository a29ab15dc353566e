import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'wasm-host',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
