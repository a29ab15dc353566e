import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { conditionsOf } from '../internal/conditions.js';
import { intField } from '../internal/object-fields.js';
import { current, failed, inProgress } from '../internal/health-result.js';

/** The controller's "no deadline" value for `spec.progressDeadlineSeconds` (math.MaxInt32). */
const NO_PROGRESS_DEADLINE = 2_147_483_647;

/**
 * The health of a Deployment (`apps` or `extensions`), after the generic rules of
 * {@link computeHealth}, as kstatus computes it:
 *
 * - a `Progressing` condition with reason `ProgressDeadlineExceeded` → `Failed`;
 * - fewer replicas, updated, available or ready replicas than wanted, or replicas pending
 *   termination → `InProgress` (`replicas: 1/3`, `Updated: 2/3`, `Available: 2/3`, `Ready: 2/3`,
 *   `Pending termination: 1`);
 * - the new ReplicaSet not yet available (`Progressing=True` with reason
 *   `NewReplicaSetAvailable`, unless no progress deadline is set) or `Available` not `True`
 *   → `InProgress`;
 * - otherwise `Current`: `Deployment is available. Replicas: 3`.
 */
export function deploymentHealth(obj: KubeObject): Health {
  // Without a deadline the controller never sets Progressing, so it cannot be waited for.
  let progressing = intField(obj, 'spec.progressDeadlineSeconds', NO_PROGRESS_DEADLINE) === NO_PROGRESS_DEADLINE;
  let available = false;

  for (const c of conditionsOf(obj)) {
    if (c.type === 'Progressing') {
      if (c.reason === 'ProgressDeadlineExceeded') {
        return failed(c.reason, 'Progress deadline exceeded');
      }
      if (c.status === 'True' && c.reason === 'NewReplicaSetAvailable') progressing = true;
    } else if (c.type === 'Available' && c.status === 'True') {
      available = true;
    }
  }

  const spec = intField(obj, 'spec.replicas', 1);
  const replicas = intField(obj, 'status.replicas', 0);
  const updated = intField(obj, 'status.updatedReplicas', 0);
  const ready = intField(obj, 'status.readyReplicas', 0);
  const availableReplicas = intField(obj, 'status.availableReplicas', 0);

  if (spec > replicas) return inProgress('LessReplicas', `replicas: ${replicas}/${spec}`);
  if (spec > updated) return inProgress('LessUpdated', `Updated: ${updated}/${spec}`);
  if (replicas > spec) return inProgress('ExtraPods', `Pending termination: ${replicas - spec}`);
  if (updated > availableReplicas) return inProgress('LessAvailable', `Available: ${availableReplicas}/${updated}`);
  if (spec > ready) return inProgress('LessReady', `Ready: ${ready}/${spec}`);
  if (!progressing) return inProgress('ReplicaSetNotAvailable', 'ReplicaSet not Available');
  if (!available) return inProgress('DeploymentNotAvailable', 'Deployment not Available');
  return current(`Deployment is available. Replicas: ${replicas}`);
}
