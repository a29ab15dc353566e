import { refKey, refOf, type ObjectRef } from '../object.js';
import type { SinkCallOptions, SinkReader } from '../sink.js';
import { computeHealth, notFoundHealth, type HealthOptions } from './compute-health.js';
import type { Health } from './health-status.js';

/** Options for {@link liveHealth}. */
export interface LiveHealthOptions extends SinkCallOptions {
  /** Custom health checks per `group/Kind`, and the other options of `computeHealth`. */
  health?: HealthOptions;
}

/**
 * The live health of each of `refs`, keyed by `refKey`: one `SinkReader.get` call, then
 * `computeHealth` per object and `NotFound` for the missing ones.
 *
 * @example
 * ```ts
 * const healths = await liveHealth(sink, [{ group: 'apps', kind: 'Deployment', namespace: 'web', name: 'api' }]);
 * for (const [key, h] of healths) console.log(key, h.status, h.message);
 * ```
 */
export async function liveHealth(sink: SinkReader, refs: readonly ObjectRef[], options: LiveHealthOptions = {}): Promise<Map<string, Health>> {
  const live = new Map((await sink.get(refs, { signal: options.signal })).map((obj) => [refKey(refOf(obj)), obj]));
  const out = new Map<string, Health>();
  for (const ref of refs) {
    const obj = live.get(refKey(ref));
    out.set(refKey(ref), obj ? computeHealth(obj, options.health) : notFoundHealth(ref));
  }
  return out;
}
