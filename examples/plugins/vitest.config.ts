import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'plugins',
    include: ['test/**/*.test.ts'],
    // Everything runs in process: a loopback HTTP server, temp directories, MemorySink.
    testTimeout: 20_000,
  },
});
