/**
 * The health of one object, in kstatus terms:
 *
 * - `Current` — the object has reached the state its spec asks for;
 * - `InProgress` — a controller is still working towards it;
 * - `Failed` — it will not get there without someone acting (progress deadline exceeded,
 *   crash-looping containers, a failed Job, `Stalled=True`);
 * - `Terminating` — it is being deleted;
 * - `NotFound` — it does not exist;
 * - `Unknown` — its status could not be read or understood.
 */
export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

/** The health of one object: a status and a human-readable message saying why. */
export interface Health {
  /** The computed status. */
  status: HealthStatus;
  /** Why, for people: e.g. `Deployment is available. Replicas: 3` or `Ready: 1/3`. */
  message: string;
  /**
   * A CamelCase reason for machines, when one is known: the reason kstatus would put on its
   * `Reconciling`/`Stalled` condition (`LessReady`, `ProgressDeadlineExceeded`,
   * `LatestGenerationNotObserved`…) or the reason of the object's own condition.
   */
  reason?: string;
}

/**
 * Every health status, from best to worst. {@link compareHealth} orders by position in this list.
 *
 * The order answers "which object should a summary of many report?": a definite failure
 * outranks not knowing (`Unknown`), which outranks a missing object (`NotFound`), an object
 * going away (`Terminating`) and one still converging (`InProgress`); `Current` is best.
 * As in cli-utils' status aggregator, one `Failed` object makes the whole set `Failed`.
 */
export const HEALTH_STATUSES: readonly HealthStatus[] = [
  'Current',
  'InProgress',
  'Terminating',
  'NotFound',
  'Unknown',
  'Failed',
];

const rank = new Map<HealthStatus, number>(HEALTH_STATUSES.map((s, i) => [s, i]));

function statusOf(h: HealthStatus | Health): HealthStatus {
  return typeof h === 'string' ? h : h.status;
}

/**
 * Orders two healths (or bare statuses) from best to worst, in the order of
 * {@link HEALTH_STATUSES}: negative when `a` is better than `b`, positive when worse, 0 when
 * the statuses are equal. Usable directly as an `Array.prototype.sort` comparator.
 *
 * @example
 * ```ts
 * compareHealth('Current', 'Failed') < 0; // true
 * healths.sort(compareHealth).at(-1);     // the worst
 * ```
 */
export function compareHealth(a: HealthStatus | Health, b: HealthStatus | Health): number {
  return (rank.get(statusOf(a)) ?? 0) - (rank.get(statusOf(b)) ?? 0);
}

/**
 * Whether `a` is strictly worse than `b` (gitops-engine's `IsWorse`).
 *
 * @example
 * ```ts
 * isWorseHealth('Failed', 'InProgress'); // true
 * ```
 */
export function isWorseHealth(a: HealthStatus | Health, b: HealthStatus | Health): boolean {
  return compareHealth(a, b) > 0;
}

/**
 * The worst of several healths, to summarise a set of objects. Of equally bad entries the
 * first is returned, so its message is kept. An empty list is `Current`: there is nothing
 * to wait for (as cli-utils' aggregator returns the desired status for an empty set).
 *
 * @example
 * ```ts
 * worstHealth(objects.map((o) => computeHealth(o))).status; // 'Failed' if any object failed
 * ```
 */
export function worstHealth(list: Iterable<Health>): Health {
  let worst: Health | undefined;
  for (const h of list) {
    if (worst === undefined || isWorseHealth(h, worst)) worst = h;
  }
  return worst ?? { status: 'Current', message: 'No objects' };
}
