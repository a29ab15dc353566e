import type { ReconcileEvent, ReconcileEventType } from '../events.js';
import type { Reconciler } from '../reconciler.js';

/**
 * Resolves with the next event of `type` from `reconciler` (that also matches `where`, if given).
 *
 * @example
 * ```ts
 * const done = nextEvent(r, 'pass.succeeded');
 * r.trigger();
 * expect((await done).counts.updated).toBe(1);
 * ```
 */
export function nextEvent<T extends ReconcileEventType>(
  reconciler: Pick<Reconciler, 'on'>,
  type: T,
  where: (event: Extract<ReconcileEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<ReconcileEvent, { type: T }>> {
  return new Promise((resolve) => {
    const off = reconciler.on(type, (event) => {
      const e = event as Extract<ReconcileEvent, { type: T }>;
      if (!where(e)) return;
      off();
      resolve(e);
    });
  });
}
