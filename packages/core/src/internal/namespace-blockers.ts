import { isPruneDisabled, ownerOf } from '../annotations.js';
import { parseApiVersion, refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';

/**
 * Objects Kubernetes makes in every namespace, or for objects in it: deleting them with the
 * namespace loses nothing anyone declared.
 */
function isClusterMade(obj: KubeObject): boolean {
  const { group } = parseApiVersion(obj.apiVersion);
  const ownerReferences = obj.metadata['ownerReferences'];
  if (Array.isArray(ownerReferences) && ownerReferences.length > 0) return true; // removed by the garbage collector with their owner
  if (obj.kind === 'Event' && (group === '' || group === 'events.k8s.io')) return true;
  if (group === '' && obj.kind === 'ServiceAccount' && obj.metadata.name === 'default') return true;
  if (group === '' && obj.kind === 'ConfigMap' && obj.metadata.name === 'kube-root-ca.crt') return true;
  if (group === '' && obj.kind === 'Endpoints') return true; // mirrors a Service
  if (group === 'discovery.k8s.io' && obj.kind === 'EndpointSlice') return true;
  if (group === 'coordination.k8s.io' && obj.kind === 'Lease') return true; // leader-election state of a workload
  if (group === '' && obj.kind === 'Secret' && obj['type'] === 'kubernetes.io/service-account-token') return true;
  return false;
}

/**
 * The objects in a namespace (or of a custom resource kind) that deleting the namespace (or
 * the CRD) would take with it although this pass may not delete them: objects of other reconcilers or made by hand (anything not
 * annotated with `owner`, unless Kubernetes made it), ours that this pass keeps, and any
 * object marked `converge.dev/prune: disabled`. Pure.
 *
 * @param contents - every object in the namespace, or of the kind.
 * @param owner - this reconciler's name.
 * @param deleting - `refKey`s of the objects this pass deletes.
 */
export function namespaceBlockers(contents: readonly KubeObject[], owner: string, deleting: ReadonlySet<string>): ObjectRef[] {
  const blockers: ObjectRef[] = [];
  for (const obj of contents) {
    const ref = refOf(obj);
    if (isPruneDisabled(obj)) blockers.push(ref);
    else if (deleting.has(refKey(ref)) && ownerOf(obj) === owner) continue;
    else if (!isClusterMade(obj)) blockers.push(ref);
  }
  return blockers;
}
