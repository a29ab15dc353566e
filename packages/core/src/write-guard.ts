import { ConvergeError, type ConvergeErrorData } from './errors.js';

/**
 * Says whether this process may write now: the "may I write?" question a reconciler or fleet
 * asks right before every write (inventory record, apply, delete) when several replicas run.
 * A leader elector (`createLeaderElector` in `@converge/kube-sink`) answers it for one Lease;
 * a fleet shard answers it per application. Core only knows this interface.
 *
 * The answer must be cheap and synchronous, and must turn `false` on its own when the right
 * to write lapses (computed from the clock, not only from a background loop), so that a
 * process that is paused or cut off stops writing even if its renewals hang.
 *
 * @example
 * ```ts
 * const elector = createLeaderElector({ kubeConfig, lease: { namespace: 'converge-system', name: 'agent' }, identity: podName });
 * const r = createReconciler({ name: 'web', source, render, sink, writeGuard: elector });
 * ```
 */
export interface WriteGuard {
  /** Whether a write may be sent now. */
  mayWrite(): boolean;
  /**
   * Optional: who holds the right to write instead, for error messages (e.g. the Lease's
   * holder). @default no detail
   */
  describe?(): string;
}

/** Data of a {@link NotLeaderError}. */
export interface NotLeaderData extends ConvergeErrorData {
  /** The reconciler or fleet that was refused. */
  reconciler: string;
  /** What the guard said about who may write, if it said anything. */
  holder?: string;
  retryable: true;
}

/**
 * A write was refused because this process does not hold the right to write (it is not the
 * leader, or the application is not assigned to this replica, or its lease could not be
 * renewed in time). Nothing was sent; the pass stopped there. Retryable: another replica
 * writes meanwhile, and this one resumes if it becomes the holder again.
 */
export class NotLeaderError extends ConvergeError {
  declare readonly code: 'NOT_LEADER';
  declare readonly data: NotLeaderData;

  constructor(reconciler: string, what: string, holder?: string) {
    super(
      'NOT_LEADER',
      `${reconciler}: refused to ${what}: this replica does not hold the right to write${holder ? ` (${holder})` : ''}; nothing was written. ` +
        'Another replica writes meanwhile; this one resumes if it becomes the holder again',
      { data: { reconciler, retryable: true, ...(holder !== undefined && { holder }) } },
    );
  }
}

/** Throws {@link NotLeaderError} unless `guard` allows a write now. */
export function assertMayWrite(guard: WriteGuard | undefined, reconciler: string, what: string): void {
  if (!guard || guard.mayWrite()) return;
  throw new NotLeaderError(reconciler, what, guard.describe?.());
}
