import type { KubeObject } from '../object.js';
import type { Health } from './health-status.js';
import { fieldAt, stringField } from '../internal/object-fields.js';
import { current, inProgress } from '../internal/health-result.js';

/**
 * The health of a Service, after the generic rules of {@link computeHealth}. Only
 * `type: LoadBalancer` has anything to wait for:
 *
 * - no `spec.clusterIP` yet → `InProgress`, `ClusterIP not set. Service type: LoadBalancer`
 *   (kstatus' rule);
 * - no `status.loadBalancer.ingress` entry with an `ip` or `hostname` → `InProgress`,
 *   `LoadBalancer ingress not assigned`. kstatus stops at the cluster IP; Converge, like
 *   gitops-engine, also waits for the load balancer's address, which is what callers of a
 *   LoadBalancer Service wait for. On a cluster with no load-balancer controller this stays
 *   `InProgress`: turn it off with `waitForLoadBalancer: false`.
 *
 * Every other Service → `Current`, `Service is ready`.
 */
export function serviceHealth(obj: KubeObject, options: { waitForLoadBalancer: boolean } = { waitForLoadBalancer: true }): Health {
  if (stringField(obj, 'spec.type', 'ClusterIP') !== 'LoadBalancer') return current('Service is ready');

  if (stringField(obj, 'spec.clusterIP', '') === '') {
    return inProgress('NoIPAssigned', 'ClusterIP not set. Service type: LoadBalancer');
  }
  if (!options.waitForLoadBalancer) return current('Service is ready (not waiting for a load balancer address)');
  const ingress = fieldAt(obj, 'status.loadBalancer.ingress');
  const addresses = Array.isArray(ingress)
    ? ingress.flatMap((i: unknown) => [fieldAt(i, 'ip'), fieldAt(i, 'hostname')]).filter((a): a is string => typeof a === 'string' && a !== '')
    : [];
  if (addresses.length === 0) {
    return inProgress('NoIngressAssigned', 'LoadBalancer ingress not assigned');
  }
  return current(`Service is ready. LoadBalancer ingress: ${addresses.join(',')}`);
}
