import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { intField, optionalIntField } from '../internal/object-fields.js';
import { current, inProgress } from '../internal/health-result.js';

/**
 * The health of a DaemonSet (`apps` or `extensions`), after the generic rules of
 * {@link computeHealth}, as kstatus computes it: `InProgress` until the controller has
 * observed it (`metadata.generation` and `status.observedGeneration` both set) and reported
 * `status.desiredNumberScheduled` and as many pods are scheduled, updated, available
 * and ready (`Current: 1/3`, `Updated: 2/3`, `Available: 2/3`, `Ready: 2/3`); then
 * `Current`: `All replicas scheduled as expected. Replicas: 3`.
 */
export function daemonSetHealth(obj: KubeObject): Health {
  // The generic rule skips the generation check when a field is missing; once the DaemonSet
  // controller has seen a DaemonSet both are set, so a missing one means it has not (kstatus).
  if (optionalIntField(obj, 'metadata.generation') === undefined) return inProgress('NoGeneration', `${obj.kind} metadata.generation not found`);
  if (optionalIntField(obj, 'status.observedGeneration') === undefined) return inProgress('NoObservedGeneration', `${obj.kind} status.observedGeneration not found`);
  const desired = intField(obj, 'status.desiredNumberScheduled', -1);
  const scheduled = intField(obj, 'status.currentNumberScheduled', 0);
  const updated = intField(obj, 'status.updatedNumberScheduled', 0);
  const available = intField(obj, 'status.numberAvailable', 0);
  const ready = intField(obj, 'status.numberReady', 0);

  if (desired === -1) return inProgress('NoDesiredNumber', 'Missing .status.desiredNumberScheduled');
  if (desired > scheduled) return inProgress('LessCurrent', `Current: ${scheduled}/${desired}`);
  if (desired > updated) return inProgress('LessUpdated', `Updated: ${updated}/${desired}`);
  if (desired > available) return inProgress('LessAvailable', `Available: ${available}/${desired}`);
  if (desired > ready) return inProgress('LessReady', `Ready: ${ready}/${desired}`);
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
}
