/**
 * Test-side helpers for the control plane that `@converge/kube-testenv/vitest-setup` starts
 * once per test run.
 *
 * @packageDocumentation
 */
import { inject } from 'vitest';
import { connectTestEnv, type TestEnvClient, type TestEnvConnection } from './connection.js';
import { TestEnvNotProvidedError } from './errors.js';
import { TEST_ENV_CONTEXT_KEY } from './vitest-setup.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by `@converge/kube-testenv/vitest-setup`. */
    convergeKubeTestEnv: TestEnvConnection;
  }
}

export { TEST_ENV_CONTEXT_KEY };

let client: Promise<TestEnvClient> | undefined;

/**
 * The connection data of the shared control plane. Throws {@link TestEnvNotProvidedError} when the
 * vitest config has no kube-testenv global setup.
 */
export function testEnvConnection(): TestEnvConnection {
  const connection = inject(TEST_ENV_CONTEXT_KEY) as TestEnvConnection | undefined;
  if (!connection) {
    throw new TestEnvNotProvidedError(
      "no shared control plane: add globalSetup: ['@converge/kube-testenv/vitest-setup'] to this project's vitest config " +
        '(or call startTestEnv() in the test file).',
    );
  }
  return connection;
}

/**
 * The shared control plane, as admin; call it in `beforeAll` or a test. Connects once per test
 * worker. The control plane outlives the file: create a namespace per file (or per test) and do
 * not rely on a clean cluster.
 *
 * @example
 * ```ts
 * import { useTestEnv } from '@converge/kube-testenv/vitest';
 * const env = await useTestEnv();
 * const core = env.kubeConfig.makeApiClient(CoreV1Api);
 * ```
 */
export function useTestEnv(): Promise<TestEnvClient> {
  client ??= connectTestEnv(testEnvConnection());
  return client;
}
