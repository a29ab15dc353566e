import type { Reconciler } from '../reconciler.js';
import type { FakeClock } from './fake-clock.js';

/** Options of {@link settled}. */
export interface SettledOptions {
  /** The fake clock the reconciler runs on: timers due at its current time are fired first. */
  clock?: FakeClock;
  /** How long to wait, in real milliseconds, before rejecting. @default 10000 */
  timeoutMs?: number;
}

/**
 * Resolves once `reconciler` is idle: no pass in flight and, with a fake clock, no pass due at
 * the clock's current time (timers due now are fired, and the passes they start awaited).
 * Time on the fake clock does not move. Use it after `trigger()`, `sink.set()` (drift) or
 * `clock.advance()` to wait for everything those started.
 *
 * @example
 * ```ts
 * sink.set(drifted);          // drift: a pass is scheduled now on the fake clock
 * await settled(r, { clock });
 * expect(r.status().history.at(-1)?.reason).toBe('drift');
 * ```
 */
export async function settled(reconciler: Pick<Reconciler, 'status'>, options: SettledOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    await options.clock?.flush();
    const due = options.clock?.nextAt;
    const busy = reconciler.status().phase === 'reconciling' || (options.clock !== undefined && due !== undefined && due <= options.clock.now());
    if (!busy) return;
    if (Date.now() > deadline) throw new Error(`settled: ${reconciler.status().name} still busy after ${options.timeoutMs ?? 10_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
