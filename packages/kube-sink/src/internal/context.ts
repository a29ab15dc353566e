import type { Clock } from '@converge/core';
import type { Discovery } from '../discovery.js';
import type { KubeTransport } from '../transport.js';
import type { OwnWrites } from './own-writes.js';
import type { SharedInformers } from './shared-informers.js';

/** What the sink's parts share: resolved options and the connection. */
export interface SinkContext {
  transport: KubeTransport;
  /** Time for every deadline, poll and wait. */
  clock: Clock;
  discovery: Discovery;
  ownWrites: OwnWrites;
  fieldManager: string;
  force: boolean;
  concurrency: number;
  propagationPolicy: 'Background' | 'Foreground' | 'Orphan';
  defaultNamespace: string;
  crdEstablishedTimeoutMs: number;
  /** The watch cache: drift watches, and live reads where it can vouch for them. */
  informers: SharedInformers;
  /** Whether `get` may answer from the watch cache. */
  cacheReads: boolean;
}
