import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { intField } from '../internal/object-fields.js';
import { current, inProgress } from '../internal/health-result.js';

/**
 * The health of a DaemonSet (`apps` or `extensions`), after the generic rules of
 * {@link computeHealth}, as kstatus computes it: `InProgress` until the controller has
 * reported `status.desiredNumberScheduled` and as many pods are scheduled, updated, available
 * and ready (`Current: 1/3`, `Updated: 2/3`, `Available: 2/3`, `Ready: 2/3`); then
 * `Current`: `All replicas scheduled as expected. Replicas: 3`.
 */
export function daemonSetHealth(obj: KubeObject): Health {
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
