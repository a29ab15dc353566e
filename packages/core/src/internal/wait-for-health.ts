import { sleep, type Clock } from '../clock.js';
import { HealthError } from '../errors.js';
import { computeHealth, notFoundHealth, type HealthOptions } from '../health/compute-health.js';
import type { Health } from '../health/health-status.js';
import { formatRef, refKey, refOf, type ObjectRef } from '../object.js';
import type { SinkReader } from '../sink.js';

/** Options of {@link waitForHealth}. */
export interface WaitForHealthOptions {
  sink: SinkReader;
  refs: readonly ObjectRef[];
  timeout: number;
  pollInterval: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Custom checks and options, as the reconciler was given them. */
  health?: HealthOptions;
  onChange(ref: ObjectRef, health: Health): void;
}

/**
 * Polls the live objects until every one is `Current`. Rejects with `HEALTH_FAILED` as soon as
 * one is `Failed`, and with `HEALTH_TIMEOUT` naming the stragglers when time runs out.
 */
export async function waitForHealth(o: WaitForHealthOptions): Promise<void> {
  const deadline = o.clock.now() + o.timeout;
  const last = new Map<string, Health>();
  for (;;) {
    const live = new Map((await o.sink.get(o.refs, { signal: o.signal })).map((obj) => [refKey(refOf(obj)), obj]));
    const pending: string[] = [];
    for (const ref of o.refs) {
      const key = refKey(ref);
      const obj = live.get(key);
      const health: Health = obj ? computeHealth(obj, { ...o.health, now: o.clock.now() }) : notFoundHealth(ref);
      const before = last.get(key);
      if (!before || before.status !== health.status || before.message !== health.message) o.onChange(ref, health);
      last.set(key, health);
      if (health.status === 'Failed') {
        throw new HealthError('HEALTH_FAILED', `${formatRef(ref)} failed: ${health.message}`, { ref });
      }
      if (health.status !== 'Current') pending.push(`${formatRef(ref)} (${health.status}: ${health.message})`);
    }
    if (pending.length === 0) return;
    if (o.clock.now() >= deadline) {
      throw new HealthError('HEALTH_TIMEOUT', `not healthy after ${o.timeout} ms: ${pending.join('; ')}`, {
        retryable: true,
        pending,
      });
    }
    await sleep(o.clock, Math.min(o.pollInterval, Math.max(0, deadline - o.clock.now())), o.signal);
  }
}
