import { sleep, systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { HealthError } from '../errors.js';
import { formatRef, refKey, type ObjectRef } from '../object.js';
import type { SinkReader } from '../sink.js';
import type { Health } from './health-status.js';
import { liveHealth, type LiveHealthOptions } from './live-health.js';

/** Options for {@link waitForHealth}. */
export interface WaitForHealthOptions extends LiveHealthOptions {
  /**
   * Give up after this many milliseconds.
   * @default 300000
   */
  timeoutMs?: number;
  /**
   * Time between reads of the live objects, in milliseconds.
   * @default 1000
   */
  pollIntervalMs?: number;
  /**
   * Clock for the deadline, the waits between reads and the health rules' notion of now
   * (tests pass `FakeClock`).
   * @default systemClock
   */
  clock?: Clock;
  /** Called when an object's health changes (and once for each object after the first read). */
  onChange?: (ref: ObjectRef, health: Health) => void;
}

/**
 * Reads the objects' live health until every one is `Current`. Rejects with a `HealthError`:
 * `HEALTH_FAILED` as soon as one is `Failed`, `HEALTH_TIMEOUT` (retryable, naming the
 * stragglers) when time runs out, or with the signal's reason when aborted. Each round is one
 * `SinkReader.get` call (the Kubernetes sink serves it with one LIST per kind and namespace);
 * between rounds it waits on the clock, and no listener stays on `signal` after a round.
 *
 * @example
 * ```ts
 * await waitForHealth(sink, refs, { timeoutMs: 120_000, onChange: (ref, h) => console.log(ref.name, h.status) });
 * ```
 */
export async function waitForHealth(sink: SinkReader, refs: readonly ObjectRef[], options: WaitForHealthOptions = {}): Promise<void> {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const deadline = clock.now() + timeoutMs;
  const last = new Map<string, Health>();
  for (;;) {
    const healths = await liveHealth(sink, refs, { signal: options.signal, health: { ...options.health, now: clock.now() } });
    const pending: string[] = [];
    for (const ref of refs) {
      const key = refKey(ref);
      const health = healths.get(key) as Health;
      const before = last.get(key);
      if (!before || before.status !== health.status || before.message !== health.message) options.onChange?.(ref, health);
      last.set(key, health);
      if (health.status === 'Failed') {
        throw new HealthError('HEALTH_FAILED', `${formatRef(ref)} failed: ${health.message}`, { ref });
      }
      if (health.status !== 'Current') pending.push(`${formatRef(ref)} (${health.status}: ${health.message})`);
    }
    if (pending.length === 0) return;
    if (clock.now() >= deadline) {
      throw new HealthError('HEALTH_TIMEOUT', `not healthy after ${timeoutMs} ms: ${pending.join('; ')}`, {
        retryable: true,
        pending,
      });
    }
    await sleep(clock, Math.min(pollIntervalMs, Math.max(0, deadline - clock.now())), options.signal);
  }
}
