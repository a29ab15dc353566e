/**
 * A vitest global setup that starts one control plane for the whole test run and stops it
 * afterwards. Test files reach it with `useTestEnv()` from `@converge/kube-testenv/vitest`.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({
 *   test: { globalSetup: ['@converge/kube-testenv/vitest-setup'], hookTimeout: 120_000 },
 * });
 * ```
 *
 * @packageDocumentation
 */
import type { TestEnvConnection } from './connection.js';
import { startTestEnv, type StartTestEnvOptions } from './test-env.js';

/** The `provide`/`inject` key under which the global setup publishes the {@link TestEnvConnection}. */
export const TEST_ENV_CONTEXT_KEY = 'convergeKubeTestEnv';

/** The part of vitest's `TestProject` a global setup uses; kept structural so this module does not import vitest. */
export interface ProvidingProject {
  /** Publishes a value to the test files (vitest's `project.provide`). */
  provide(key: typeof TEST_ENV_CONTEXT_KEY, value: TestEnvConnection): void;
}

/** A vitest global setup function: starts, provides, and returns the teardown. */
export type TestEnvGlobalSetup = (project: ProvidingProject) => Promise<() => Promise<void>>;

/**
 * Makes a vitest global setup with custom {@link StartTestEnvOptions}. Unless `onProgress` is
 * given, prints one line to stderr when the control plane is ready.
 *
 * @example
 * ```ts
 * // test/global-setup.ts, listed in vitest.config.ts `globalSetup`
 * import { createTestEnvSetup } from '@converge/kube-testenv/vitest-setup';
 * export default createTestEnvSetup({ apiServerFlags: { 'feature-gates': 'MyGate=true' } });
 * ```
 */
export function createTestEnvSetup(options: StartTestEnvOptions = {}): TestEnvGlobalSetup {
  return async (project) => {
    const env = await startTestEnv({
      onProgress: (e) => {
        if (e.type === 'ready') process.stderr.write(`[kube-testenv] control plane ready at ${e.server} in ${e.startupMs} ms\n`);
      },
      ...options,
    });
    project.provide(TEST_ENV_CONTEXT_KEY, env.connection);
    return () => env.stop();
  };
}

/** The default global setup: {@link createTestEnvSetup} with default options. */
const setup: TestEnvGlobalSetup = createTestEnvSetup();
export default setup;
