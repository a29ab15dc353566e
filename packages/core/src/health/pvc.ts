import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { stringField } from '../internal/object-fields.js';
import { current, inProgress } from '../internal/health-result.js';

/**
 * The health of a PersistentVolumeClaim, after the generic rules of {@link computeHealth},
 * as kstatus computes it: `Bound` → `Current` (`PVC is Bound`); any other phase →
 * `InProgress`, `PVC is not Bound. phase: Pending`. A claim of a `WaitForFirstConsumer`
 * storage class stays `Pending`, hence `InProgress`, until a pod uses it.
 */
export function pvcHealth(obj: KubeObject): Health {
  const phase = stringField(obj, 'status.phase', 'unknown');
  if (phase === 'Bound') return current('PVC is Bound');
  return inProgress('NotBound', `PVC is not Bound. phase: ${phase}`);
}
