import { ownerOf } from '../annotations.js';
import { sleep, type Clock } from '../clock.js';
import type { KubeObject, ObjectRef } from '../object.js';
import type { SinkReader } from '../sink.js';

/** Options of {@link waitUntilGone}. */
export interface WaitUntilGoneOptions {
  sink: SinkReader;
  refs: readonly ObjectRef[];
  /** Only wait for objects annotated with this owner (others were not ours to delete). */
  owner?: string;
  clock: Clock;
  timeoutMs: number;
  pollIntervalMs: number;
  signal: AbortSignal;
}

/**
 * Polls until none of `refs` exists any more (deleted objects can linger while finalizers
 * run). Resolves with `undefined` once they are gone, or with the first one still there when
 * the time is up, for the caller to report.
 */
export async function waitUntilGone(o: WaitUntilGoneOptions): Promise<KubeObject | undefined> {
  const deadline = o.clock.now() + o.timeoutMs;
  for (;;) {
    const left = (await o.sink.get(o.refs, { signal: o.signal })).filter((obj) => o.owner === undefined || ownerOf(obj) === o.owner);
    if (left.length === 0) return undefined;
    if (o.clock.now() >= deadline) return left[0];
    await sleep(o.clock, o.pollIntervalMs, o.signal);
  }
}
