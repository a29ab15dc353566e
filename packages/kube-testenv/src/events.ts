import type { KubeAssets } from './assets.js';
import type { ControlPlaneComponent } from './errors.js';

/**
 * Progress of {@link startTestEnv} and `stop()`, in order. `elapsedMs` counts from the start
 * of `startTestEnv` (or of `stop`).
 */
export type TestEnvProgressEvent =
  /** The binaries were found. */
  | { type: 'assets-located'; assets: KubeAssets; elapsedMs: number }
  /** CA, serving, admin and service-account keys were generated. */
  | { type: 'certificates-generated'; elapsedMs: number }
  /** A component was spawned and is being waited for. */
  | { type: 'component-starting'; component: ControlPlaneComponent; url: string; pid: number; elapsedMs: number }
  /** A component answered its health check. */
  | { type: 'component-ready'; component: ControlPlaneComponent; elapsedMs: number }
  /** A component lost a race for its port and is started again on another one. */
  | { type: 'component-retrying'; component: ControlPlaneComponent; reason: string; elapsedMs: number }
  /** The control plane is ready; `startupMs` is the same number the environment reports. */
  | { type: 'ready'; server: string; kubeconfigPath: string; startupMs: number; elapsedMs: number }
  /** `stop()` began. */
  | { type: 'stopping'; elapsedMs: number }
  /** `stop()` finished: processes ended, temp dir removed. */
  | { type: 'stopped'; elapsedMs: number };

/** Receives {@link TestEnvProgressEvent}s. Exceptions it throws are ignored. */
export type TestEnvProgressListener = (event: TestEnvProgressEvent) => void;
