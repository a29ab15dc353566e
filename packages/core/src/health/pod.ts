import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { conditionsOf, findCondition } from '../internal/conditions.js';
import { fieldAt, stringField } from '../internal/object-fields.js';
import { current, failed, inProgress } from '../internal/health-result.js';

/**
 * The health of a Pod, after the generic rules of {@link computeHealth}, by `status.phase`:
 *
 * - `Succeeded` → `Current`, `Pod has completed successfully`;
 * - `Failed` → `Failed`, `Pod has completed, but not successfully` (with `status.reason`,
 *   e.g. `Evicted`, as the reason). kstatus reports this as `Current` because the pod has
 *   reached a final state; Converge reports it as `Failed` (as gitops-engine does), since a
 *   reconciler waiting on a bare Pod wants to know its workload failed;
 * - `Running` with `Ready=True` → `Current`, `Pod is Ready`; with a container waiting in
 *   `CrashLoopBackOff` → `Failed`, `Containers in CrashLoop state: a,b`; else `InProgress`;
 * - `Pending` with `PodScheduled=False` reason `Unschedulable` → `Failed` once the Pod is older
 *   than 15 seconds (kstatus' schedule window); else `InProgress`;
 * - no phase yet → `InProgress`, `Pod phase not available`;
 * - any other phase → `Unknown`.
 */
/** How long a new Pod may be unschedulable before it counts as `Failed` (kstatus' `ScheduleWindow`). */
const SCHEDULE_WINDOW_MS = 15_000;

export function podHealth(obj: KubeObject, options: { now: number } = { now: Date.now() }): Health {
  const conditions = conditionsOf(obj);
  const phase = stringField(obj, 'status.phase', '');
  switch (phase) {
    case 'Succeeded':
      return current('Pod has completed successfully');
    case 'Failed': {
      const reason = stringField(obj, 'status.reason', '') || 'PodFailed';
      const detail = stringField(obj, 'status.message', '');
      return failed(reason, `Pod has completed, but not successfully${detail ? `: ${detail}` : ''}`);
    }
    case 'Running': {
      if (findCondition(conditions, 'Ready', 'True')) return current('Pod is Ready');
      const crashing = crashLoopingContainers(obj);
      if (crashing.length > 0) {
        return failed('ContainerCrashLooping', `Containers in CrashLoop state: ${crashing.join(',')}`);
      }
      return inProgress('PodRunningNotReady', 'Pod is running but is not Ready');
    }
    case 'Pending': {
      const scheduled = findCondition(conditions, 'PodScheduled', 'False');
      // kstatus gives a new Pod 15 s before it counts as unschedulable: the scheduler may still
      // be making room (a node scaling up, a pod being preempted).
      const created = Date.parse(stringField(obj, 'metadata.creationTimestamp', ''));
      const young = Number.isFinite(created) && options.now - created < SCHEDULE_WINDOW_MS;
      if (scheduled?.reason === 'Unschedulable' && !young) return failed('PodUnschedulable', 'Pod could not be scheduled');
      return inProgress('PodPending', 'Pod is in the Pending phase');
    }
    case '':
      // The kubelet has not reported on the pod yet.
      return inProgress('PodNotObserved', 'Pod phase not available');
    default:
      return { status: 'Unknown', message: `Unknown Pod phase ${phase}`, reason: 'UnknownPhase' };
  }
}

/** Names of the containers waiting with reason `CrashLoopBackOff`, in status order. */
function crashLoopingContainers(obj: KubeObject): string[] {
  const statuses = fieldAt(obj, 'status.containerStatuses');
  if (!Array.isArray(statuses)) return [];
  const names: string[] = [];
  for (const cs of statuses) {
    const name = fieldAt(cs, 'name');
    if (typeof name === 'string' && fieldAt(cs, 'state.waiting.reason') === 'CrashLoopBackOff') names.push(name);
  }
  return names;
}
