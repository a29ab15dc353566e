import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { alwaysCurrentHealth } from './always-current.js';

/**
 * The health of a CronJob: always `Current` (`Resource is always ready`) once the generic
 * rules of {@link computeHealth} have passed, as in kstatus. A CronJob only schedules Jobs;
 * the Jobs it creates carry their own health.
 */
export function cronJobHealth(obj: KubeObject): Health {
  return alwaysCurrentHealth(obj);
}
