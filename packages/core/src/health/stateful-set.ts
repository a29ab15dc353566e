import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { intField, stringField } from '../internal/object-fields.js';
import { current, inProgress } from '../internal/health-result.js';

/**
 * The health of a StatefulSet, after the generic rules of {@link computeHealth}, as kstatus
 * computes it. The StatefulSet controller sets no conditions, so a failed rollout cannot be
 * told apart from a slow one: this never returns `Failed`.
 *
 * - `spec.updateStrategy.type: OnDelete` → `Current` (updates are the user's to make);
 * - too few replicas or ready replicas, or replicas pending termination → `InProgress`
 *   (`Replicas: 1/3`, `Ready: 2/3`, `Pending termination: 1`);
 * - with a `rollingUpdate.partition`, `Current` once the pods above the partition are updated;
 * - too few current replicas or `currentRevision` ≠ `updateRevision` → `InProgress`;
 * - otherwise `Current`: `All replicas scheduled as expected. Replicas: 3`.
 */
export function statefulSetHealth(obj: KubeObject): Health {
  if (stringField(obj, 'spec.updateStrategy.type', '') === 'OnDelete') {
    return current('StatefulSet is using the ondelete update strategy');
  }

  const spec = intField(obj, 'spec.replicas', 1);
  const ready = intField(obj, 'status.readyReplicas', 0);
  const currentReplicas = intField(obj, 'status.currentReplicas', 0);
  const updated = intField(obj, 'status.updatedReplicas', 0);
  const replicas = intField(obj, 'status.replicas', 0);
  const partition = intField(obj, 'spec.updateStrategy.rollingUpdate.partition', -1);

  if (spec > replicas) return inProgress('LessReplicas', `Replicas: ${replicas}/${spec}`);
  if (spec > ready) return inProgress('LessReady', `Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress('ExtraPods', `Pending termination: ${replicas - spec}`);

  if (partition !== -1) {
    if (updated < spec - partition) {
      return inProgress('PartitionRollout', `updated: ${updated}/${spec - partition}`);
    }
    return current(`Partition rollout complete. updated: ${updated}`);
  }

  if (spec > currentReplicas) return inProgress('LessCurrent', `current: ${currentReplicas}/${spec}`);

  if (stringField(obj, 'status.currentRevision', '') !== stringField(obj, 'status.updateRevision', '')) {
    return inProgress('RevisionMismatch', 'Waiting for updated revision to match current');
  }
  return current(`All replicas scheduled as expected. Replicas: ${replicas}`);
}
