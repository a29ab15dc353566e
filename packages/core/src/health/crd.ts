import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { conditionsOf } from '../internal/conditions.js';
import { current, failed, inProgress } from '../internal/health-result.js';

/**
 * The health of a CustomResourceDefinition, after the generic rules of {@link computeHealth},
 * as kstatus computes it: `NamesAccepted=False` (a name clash) → `Failed`; `Established=False`
 * for a reason other than `Installing` → `Failed`; `Established=True` → `Current`
 * (`CRD is established`); otherwise `InProgress`, `Install in progress`. Custom resources of a
 * CRD can be applied only once it is `Current`.
 */
export function crdHealth(obj: KubeObject): Health {
  for (const c of conditionsOf(obj)) {
    if (c.type === 'NamesAccepted' && c.status === 'False') {
      return failed(c.reason, c.message || 'CRD names not accepted');
    }
    if (c.type === 'Established') {
      if (c.status === 'False' && c.reason !== 'Installing') {
        return failed(c.reason, c.message || 'CRD not established');
      }
      if (c.status === 'True') return current('CRD is established');
    }
  }
  return inProgress('Installing', 'Install in progress');
}
