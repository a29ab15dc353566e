import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { conditionsOf } from '../internal/conditions.js';
import { fieldAt, intField, stringField } from '../internal/object-fields.js';
import { current, failed, inProgress } from '../internal/health-result.js';

/**
 * The health of a Job, after the generic rules of {@link computeHealth}, as kstatus computes it:
 *
 * - `Complete=True` → `Current`, `Job Completed. succeeded: 3/3`;
 * - `Failed=True` → `Failed`, `Job Failed. failed: 1/3` (with the condition's reason, e.g.
 *   `BackoffLimitExceeded`);
 * - `spec.suspend: true` with `Suspended=True` → `Current`, `Job is suspended`;
 * - not started (`status.startTime` unset) → `InProgress`, `Job not started`;
 * - otherwise `Current`: a running Job is what its spec asks for —
 *   `Job in progress. success:1, active: 2, failed: 0`.
 */
export function jobHealth(obj: KubeObject): Health {
  const parallelism = intField(obj, 'spec.parallelism', 1);
  const completions = intField(obj, 'spec.completions', parallelism);
  const succeeded = intField(obj, 'status.succeeded', 0);
  const active = intField(obj, 'status.active', 0);
  const failedPods = intField(obj, 'status.failed', 0);

  for (const c of conditionsOf(obj)) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete') return current(`Job Completed. succeeded: ${succeeded}/${completions}`);
    if (c.type === 'Failed') return failed(c.reason || 'JobFailed', `Job Failed. failed: ${failedPods}/${completions}`);
    // A Job suspended on purpose is what its spec asks for.
    if (c.type === 'Suspended' && fieldAt(obj, 'spec.suspend') === true) return current('Job is suspended');
  }

  if (stringField(obj, 'status.startTime', '') === '') return inProgress('JobNotStarted', 'Job not started');
  return current(`Job in progress. success:${succeeded}, active: ${active}, failed: ${failedPods}`);
}
