import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { current } from '../internal/health-result.js';

/**
 * The health of kinds that have no status to wait for (ConfigMap, Secret): always `Current`,
 * `Resource is always ready`, once the generic rules of {@link computeHealth} have passed.
 */
export function alwaysCurrentHealth(_obj: KubeObject): Health {
  return current('Resource is always ready');
}
