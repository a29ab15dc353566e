import type { Clock } from '@converge/core';
import type { Discovery } from '../discovery.js';
import type { KubeRequestInfo, KubeTransport } from '../transport.js';
import type { OwnWrites } from './own-writes.js';

/** What the sink's parts share: resolved options and the connection. */
export interface SinkContext {
  transport: KubeTransport;
  /** Time for every deadline, poll and wait. */
  clock: Clock;
  /** Randomness in [0, 1) for retry jitter. */
  random: () => number;
  discovery: Discovery;
  ownWrites: OwnWrites;
  fieldManager: string;
  force: boolean;
  concurrency: number;
  propagationPolicy: 'Background' | 'Foreground' | 'Orphan';
  defaultNamespace: string;
  crdEstablishedTimeoutMs: number;
  /** `sleep` on {@link SinkContext.clock}. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Reports requests made outside the transport (watch streams). */
  transportInfo?: ((info: KubeRequestInfo) => void) | undefined;
}
