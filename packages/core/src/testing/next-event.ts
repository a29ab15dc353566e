import type { ReconcileEvent, ReconcileEventType } from '../events.js';
import type { Reconciler } from '../reconciler.js';

/** Options of {@link nextEvent}. */
export interface NextEventOptions<E> {
  /** Only an event that also matches this. */
  where?: (event: E) => boolean;
  /**
   * How long to wait, in real milliseconds (not a fake clock's): then the promise rejects with
   * an error naming the event awaited, instead of hanging the test.
   * @default 10000
   */
  timeoutMs?: number;
}

/**
 * Resolves with the next event of `type` from `reconciler` (that also matches `where`, if
 * given); rejects after `timeoutMs` with a message naming the event awaited. Subscribe
 * before causing the event.
 *
 * @example
 * ```ts
 * const done = nextEvent(r, 'pass.succeeded', { timeoutMs: 2_000 });
 * r.trigger();
 * expect((await done).counts.updated).toBe(1);
 * ```
 */
export function nextEvent<T extends ReconcileEventType>(
  reconciler: Pick<Reconciler, 'on'>,
  type: T,
  whereOrOptions: ((event: Extract<ReconcileEvent, { type: T }>) => boolean) | NextEventOptions<Extract<ReconcileEvent, { type: T }>> = {},
): Promise<Extract<ReconcileEvent, { type: T }>> {
  const options = typeof whereOrOptions === 'function' ? { where: whereOrOptions } : whereOrOptions;
  const where = options.where ?? (() => true);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`nextEvent: no ${type} event${options.where ? ' matching the filter' : ''} within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
    const off = reconciler.on(type, (event) => {
      const e = event as Extract<ReconcileEvent, { type: T }>;
      if (!where(e)) return;
      off();
      clearTimeout(timer);
      resolve(e);
    });
  });
}
