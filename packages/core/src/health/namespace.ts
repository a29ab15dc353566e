import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { stringField } from '../internal/object-fields.js';
import { current } from '../internal/health-result.js';

/**
 * The health of a Namespace, after the generic rules of {@link computeHealth} (which already
 * report a Namespace with a `deletionTimestamp` as `Terminating`): `status.phase: Terminating`
 * → `Terminating`, `Namespace is terminating`; `Active` (or no phase yet) → `Current`,
 * `Namespace is active`. kstatus has no Namespace rule and would say `Current` for a
 * terminating Namespace that lacks a deletion timestamp.
 */
export function namespaceHealth(obj: KubeObject): Health {
  if (stringField(obj, 'status.phase', '') === 'Terminating') {
    return { status: 'Terminating', message: 'Namespace is terminating', reason: 'NamespaceTerminating' };
  }
  return current('Namespace is active');
}
