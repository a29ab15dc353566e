import { HealthError, computeHealth, formatRef, notFoundHealth, refKey, refOf } from '@converge/core';
import type { Health, HealthOptions, ObjectRef, SinkCallOptions, SinkReader } from '@converge/core';

/** The live health of each of `refs` (`NotFound` for missing objects), keyed by `refKey`. */
export async function liveHealth(sink: SinkReader, refs: readonly ObjectRef[], options: SinkCallOptions & { health?: HealthOptions } = {}): Promise<Map<string, Health>> {
  const live = new Map((await sink.get(refs, options)).map((obj) => [refKey(refOf(obj)), obj]));
  const out = new Map<string, Health>();
  for (const ref of refs) {
    const obj = live.get(refKey(ref));
    out.set(refKey(ref), obj ? computeHealth(obj, options.health) : notFoundHealth(ref));
  }
  return out;
}

/** Options for {@link waitForHealth}. */
export interface WaitForHealthOptions extends SinkCallOptions {
  /** Custom health checks per `group/Kind`, and whether LoadBalancer Services wait for an address (see `computeHealth`). */
  health?: HealthOptions;
  /**
   * Give up after this many milliseconds.
   * @default 300000
   */
  timeoutMs?: number;
  /**
   * Time between reads of the live objects.
   * @default 1000
   */
  pollIntervalMs?: number;
  /** Called when an object's health changes (and once for each object at the start). */
  onChange?: (ref: ObjectRef, health: Health) => void;
}

/**
 * Reads the objects' live health until every one is `Current`. Rejects with a `HealthError`:
 * `HEALTH_FAILED` as soon as one is `Failed`, `HEALTH_TIMEOUT` (retryable, naming the
 * stragglers) when time runs out. Each round is one `SinkReader.get` call, which the
 * Kubernetes sink serves with one LIST per kind and namespace.
 */
export async function waitForHealth(sink: SinkReader, refs: readonly ObjectRef[], options: WaitForHealthOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const interval = options.pollIntervalMs ?? 1000;
  const deadline = Date.now() + timeoutMs;
  const last = new Map<string, Health>();
  for (;;) {
    const healths = await liveHealth(sink, refs, options);
    const pending: string[] = [];
    for (const ref of refs) {
      const key = refKey(ref);
      const health = healths.get(key) as Health;
      const before = last.get(key);
      if (!before || before.status !== health.status || before.message !== health.message) options.onChange?.(ref, health);
      last.set(key, health);
      if (health.status === 'Failed') throw new HealthError('HEALTH_FAILED', `${formatRef(ref)} failed: ${health.message}`, { ref });
      if (health.status !== 'Current') pending.push(`${formatRef(ref)} (${health.status}: ${health.message})`);
    }
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new HealthError('HEALTH_TIMEOUT', `not healthy after ${timeoutMs} ms: ${pending.join('; ')}`, { retryable: true, pending });
    }
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now())));
      options.signal?.addEventListener('abort', () => (clearTimeout(t), reject(options.signal?.reason as Error)), { once: true });
    });
  }
}
