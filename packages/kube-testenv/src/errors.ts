import { ConvergeError, type ConvergeErrorOptions } from '@converge/core';

/**
 * The control-plane binaries (etcd, kube-apiserver) were not found. The message says where
 * they were looked for and how to get them: run the package's `scripts/build-assets.sh`, or set
 * `KUBEBUILDER_ASSETS` to a directory of envtest binaries.
 */
export class KubeAssetsNotFoundError extends ConvergeError {
  constructor(message: string, options: ConvergeErrorOptions = {}) {
    super('KUBE_ASSETS_NOT_FOUND', message, options);
  }
}

/** Which control-plane component a {@link ControlPlaneError} is about. */
export type ControlPlaneComponent = 'etcd' | 'kube-apiserver';

/**
 * A control-plane process failed to start, exited early, or did not become ready in time.
 * `data.component` names it, `data.logTail` holds the last lines it printed and `data.logFile`
 * where its full output is (kept until `stop()`).
 *
 * Codes: `TESTENV_START_FAILED` (exited or could not be spawned), `TESTENV_START_TIMEOUT`
 * (not ready in time), `TESTENV_STOPPED` (used after `stop()`).
 */
export class ControlPlaneError extends ConvergeError {
  declare readonly code: 'TESTENV_START_FAILED' | 'TESTENV_START_TIMEOUT' | 'TESTENV_STOPPED';
  constructor(
    code: 'TESTENV_START_FAILED' | 'TESTENV_START_TIMEOUT' | 'TESTENV_STOPPED',
    message: string,
    options: ConvergeErrorOptions & { component?: ControlPlaneComponent; logTail?: string; logFile?: string } = {},
  ) {
    const { component, logTail, logFile, ...rest } = options;
    super(code, message, {
      ...rest,
      data: { ...rest.data, ...(component && { component }), ...(logTail !== undefined && { logTail }), ...(logFile && { logFile }) },
    });
  }
}

/**
 * A test asked for the shared control plane, but no vitest global setup provided one. The
 * message says how to add `@converge/kube-testenv/vitest-setup` to the vitest config.
 */
export class TestEnvNotProvidedError extends ConvergeError {
  constructor(message: string) {
    super('TESTENV_NOT_PROVIDED', message);
  }
}
