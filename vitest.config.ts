import { defineConfig } from 'vitest/config';

/** One root config; each package is a project so `vitest run --project core` runs one package. */
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'docs/vitest.config.ts', 'scripts/test/vitest.config.ts'],
  },
});
