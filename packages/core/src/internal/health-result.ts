import type { Health } from '../health/health-status.js';

/** A `Current` health. */
export function current(message: string): Health {
  return { status: 'Current', message };
}

/** An `InProgress` health with the reason kstatus would put on its `Reconciling` condition. */
export function inProgress(reason: string, message: string): Health {
  return { status: 'InProgress', message, reason };
}

/** A `Failed` health with the reason kstatus would put on its `Stalled` condition. */
export function failed(reason: string, message: string): Health {
  return reason ? { status: 'Failed', message, reason } : { status: 'Failed', message };
}
