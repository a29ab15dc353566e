import type { KubeObject, ObjectRef } from '../object.js';
import { formatRef, parseApiVersion } from '../object.js';
import type { Health } from './health-status.js';
import { conditionsOf } from '../internal/conditions.js';
import { optionalIntField, stringField } from '../internal/object-fields.js';
import { current, failed, inProgress } from '../internal/health-result.js';
import { alwaysCurrentHealth } from './always-current.js';
import { crdHealth } from './crd.js';
import { cronJobHealth } from './cron-job.js';
import { daemonSetHealth } from './daemon-set.js';
import { deploymentHealth } from './deployment.js';
import { jobHealth } from './job.js';
import { namespaceHealth } from './namespace.js';
import { podHealth } from './pod.js';
import { pvcHealth } from './pvc.js';
import { replicaSetHealth } from './replica-set.js';
import { serviceHealth } from './service.js';
import { statefulSetHealth } from './stateful-set.js';

/** Kind-specific rules keyed by `group/Kind` (`Kind` for the core group), as in kstatus. */
/**
 * A health rule for one kind: the object's health, or `undefined` to fall through to the
 * built-in rules. Must be pure and must not throw.
 */
export type HealthCheck = (obj: KubeObject) => Health | undefined;

/** Options of {@link computeHealth}. */
export interface HealthOptions {
  /**
   * Rules by kind, as `group/Kind` (`Kind` alone for the core group), e.g.
   * `{ 'cert-manager.io/Certificate': (obj) => … }`. Consulted first, before every built-in
   * rule; a rule that returns `undefined` falls through to them.
   * @default {}
   */
  checks?: Readonly<Record<string, HealthCheck>>;
  /**
   * Whether a `LoadBalancer` Service waits for its load balancer's address. Turn it off on
   * clusters without a load-balancer controller (kind, bare metal without MetalLB).
   * @default true
   */
  waitForLoadBalancer?: boolean;
  /**
   * The current time (ms since the epoch), for the 15-second grace kstatus gives a new Pod
   * before an unschedulable one counts as `Failed`.
   * @default Date.now()
   */
  now?: number;
}

/** What kind rules read from the options, resolved. */
export interface ResolvedHealthOptions {
  waitForLoadBalancer: boolean;
  now: number;
}

const kindRules: ReadonlyMap<string, (obj: KubeObject, options: ResolvedHealthOptions) => Health> = new Map<string, (obj: KubeObject, options: ResolvedHealthOptions) => Health>([
  ['Service', serviceHealth],
  ['Pod', podHealth],
  ['Secret', alwaysCurrentHealth],
  ['ConfigMap', alwaysCurrentHealth],
  ['PersistentVolumeClaim', pvcHealth],
  ['Namespace', namespaceHealth],
  ['apps/StatefulSet', statefulSetHealth],
  ['apps/DaemonSet', daemonSetHealth],
  ['extensions/DaemonSet', daemonSetHealth],
  ['apps/Deployment', deploymentHealth],
  ['extensions/Deployment', deploymentHealth],
  ['apps/ReplicaSet', replicaSetHealth],
  ['extensions/ReplicaSet', replicaSetHealth],
  ['batch/Job', jobHealth],
  ['batch/CronJob', cronJobHealth],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdHealth],
]);

/**
 * The health of a missing object: `NotFound`, e.g. `Deployment.apps web/api not found`.
 *
 * @param ref - the object that was looked for; named in the message when given.
 */
export function notFoundHealth(ref?: ObjectRef): Health {
  return { status: 'NotFound', message: ref ? `${formatRef(ref)} not found` : 'Resource not found' };
}

/**
 * Computes the health of a live object, with kstatus semantics. Pure and synchronous: it reads
 * only the object given, so pass the object as the server returned it, status included.
 *
 * Rules, first match wins:
 *
 * 0. a rule the caller gave for the kind (`options.checks`) that returns a health;
 * 1. no object (`undefined`/`null`) → `NotFound`;
 * 2. `metadata.deletionTimestamp` set → `Terminating`, `Resource scheduled for deletion`;
 * 3. `metadata.generation` ≠ `status.observedGeneration` (when both are set) → `InProgress`,
 *    `Deployment generation is 3, but latest observed generation is 2`;
 * 4. the first of the conditions `Reconciling=True` → `InProgress` and `Stalled=True` →
 *    `Failed`, with the condition's reason and message;
 * 5. a kind-specific rule, as kstatus has them: Deployment, StatefulSet, DaemonSet and
 *    ReplicaSet are `InProgress` until every wanted replica is updated and ready (a Deployment
 *    past its progress deadline is `Failed`); a Pod is `Failed` when its phase is `Failed`, it
 *    is crash-looping or it cannot be scheduled; a Job is `Failed` on its `Failed` condition;
 *    a CronJob is `Current`; a LoadBalancer Service waits for its address; a
 *    PersistentVolumeClaim for `Bound`; a CustomResourceDefinition for `Established`; a
 *    Namespace in phase `Terminating` is `Terminating`; ConfigMaps and Secrets are `Current`;
 * 6. for any other kind, a `Ready` condition: `True` → `Current`, `False` or `Unknown` →
 *    `InProgress` with its reason and message (the convention Flux and most operators follow);
 * 7. otherwise `Current`, `Resource is current` — kinds without status semantics.
 *
 * An object that cannot be read (no `kind`, an unknown Pod phase) is `Unknown`; this function
 * never throws.
 *
 * @example
 * ```ts
 * const [live] = await sink.get([ref]);
 * const health = computeHealth(live);
 * if (health.status === 'Failed') console.error(`${formatRef(ref)}: ${health.message}`);
 * ```
 */
export function computeHealth(obj: KubeObject | null | undefined, options: HealthOptions = {}): Health {
  if (obj === undefined || obj === null) return notFoundHealth();
  if (typeof obj !== 'object' || typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') {
    return { status: 'Unknown', message: 'Not a Kubernetes object: apiVersion and kind are required', reason: 'InvalidObject' };
  }
  const { group } = parseApiVersion(obj.apiVersion);
  const key = group ? `${group}/${obj.kind}` : obj.kind;

  const custom = options.checks?.[key]?.(obj);
  if (custom) return custom;

  const generic = genericHealth(obj);
  if (generic) return generic;

  const rule = kindRules.get(key);
  if (rule) return rule(obj, { waitForLoadBalancer: options.waitForLoadBalancer ?? true, now: options.now ?? Date.now() });

  return readyConditionHealth(obj) ?? current('Resource is current');
}

/** Rules 2–4: deletion, observed generation and the kstatus standard conditions. */
function genericHealth(obj: KubeObject): Health | undefined {
  if (stringField(obj, 'metadata.deletionTimestamp', '') !== '') {
    return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  }

  const generation = optionalIntField(obj, 'metadata.generation');
  const observed = optionalIntField(obj, 'status.observedGeneration');
  if (generation !== undefined && observed !== undefined && generation !== observed) {
    return inProgress(
      'LatestGenerationNotObserved',
      `${obj.kind} generation is ${generation}, but latest observed generation is ${observed}`,
    );
  }

  for (const c of conditionsOf(obj)) {
    if (c.status !== 'True') continue;
    if (c.type === 'Reconciling') return inProgress(c.reason, c.message || conditionText(c.type, c.reason));
    if (c.type === 'Stalled') return failed(c.reason, c.message || conditionText(c.type, c.reason));
  }
  return undefined;
}

/** Rule 6: the `Ready` condition of kinds without a kind-specific rule. */
function readyConditionHealth(obj: KubeObject): Health | undefined {
  const ready = conditionsOf(obj).find((c) => c.type === 'Ready');
  if (!ready) return undefined;
  if (ready.status === 'True') return current(ready.message || 'Resource is Ready');
  return inProgress(ready.reason || 'NotReady', ready.message || conditionText('Ready', ready.reason, ready.status));
}

/** A message for a condition that carries none, e.g. `Stalled: InstallFailed`. */
function conditionText(type: string, reason: string, status = 'True'): string {
  const head = status === 'True' ? type : `${type}=${status || 'Unknown'}`;
  return reason ? `${head}: ${reason}` : head;
}
