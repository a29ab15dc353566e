import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { conditionsOf, findCondition } from '../internal/conditions.js';
import { intField } from '../internal/object-fields.js';
import { current, inProgress } from '../internal/health-result.js';

/**
 * The health of a ReplicaSet (`apps` or `extensions`), after the generic rules of
 * {@link computeHealth}, as kstatus computes it:
 *
 * - `ReplicaFailure=True` (e.g. pods rejected by a quota) → `InProgress`,
 *   `Replica Failure condition. Check Pods` — the controller keeps retrying;
 * - fewer fully labelled, available or ready replicas than wanted, or replicas pending
 *   termination → `InProgress` (`Labelled: 1/3`, `Available: 2/3`, `Ready: 2/3`,
 *   `Pending termination: 1`);
 * - otherwise `Current`: `ReplicaSet is available. Replicas: 3`.
 */
export function replicaSetHealth(obj: KubeObject): Health {
  if (findCondition(conditionsOf(obj), 'ReplicaFailure', 'True')) {
    return inProgress('ReplicaFailure', 'Replica Failure condition. Check Pods');
  }

  const spec = intField(obj, 'spec.replicas', 1);
  const replicas = intField(obj, 'status.replicas', 0);
  const ready = intField(obj, 'status.readyReplicas', 0);
  const available = intField(obj, 'status.availableReplicas', 0);
  const labelled = intField(obj, 'status.fullyLabeledReplicas', 0);

  if (spec > labelled) return inProgress('LessLabelled', `Labelled: ${labelled}/${spec}`);
  if (spec > available) return inProgress('LessAvailable', `Available: ${available}/${spec}`);
  if (spec > ready) return inProgress('LessReady', `Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress('ExtraPods', `Pending termination: ${replicas - spec}`);
  return current(`ReplicaSet is available. Replicas: ${replicas}`);
}
