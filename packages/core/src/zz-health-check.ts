export type { HealthStatus, Health } from './health/health-status.js';
export { HEALTH_STATUSES, compareHealth, isWorseHealth, worstHealth } from './health/health-status.js';
export { computeHealth, notFoundHealth } from './health/compute-health.js';
export type { KubeObject, ObjectRef } from './object.js';
export { formatRef } from './object.js';
