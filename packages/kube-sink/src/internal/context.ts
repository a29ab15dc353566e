import type { Discovery } from '../discovery.js';
import type { KubeRequestInfo, KubeTransport } from '../transport.js';
import type { OwnWrites } from './own-writes.js';

/** What the sink's parts share: resolved options and the connection. */
export interface SinkContext {
  transport: KubeTransport;
  discovery: Discovery;
  ownWrites: OwnWrites;
  fieldManager: string;
  force: boolean;
  concurrency: number;
  propagationPolicy: 'Background' | 'Foreground' | 'Orphan';
  defaultNamespace: string;
  crdEstablishedTimeoutMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Reports requests made outside the transport (watch streams). */
  transportInfo?: ((info: KubeRequestInfo) => void) | undefined;
}
