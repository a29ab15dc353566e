import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'helm-render',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // Builds (or reuses from the cache) the wasm engine and the helm binary once per run.
    globalSetup: ['test/global-setup.ts', 'test/kube-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
