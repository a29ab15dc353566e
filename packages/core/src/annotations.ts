/** Annotation naming the reconciler that manages an object. */
export const OWNER_ANNOTATION = 'converge.dev/owner';

/** Annotation that, set to `disabled`, keeps an object from ever being pruned. */
export const PRUNE_ANNOTATION = 'converge.dev/prune';

/** Whether an object is protected from pruning by `converge.dev/prune: disabled`. */
export function isPruneDisabled(obj: { metadata: { annotations?: Record<string, string> } }): boolean {
  return obj.metadata.annotations?.[PRUNE_ANNOTATION] === 'disabled';
}

/** The reconciler recorded as the object's owner, if any. */
export function ownerOf(obj: { metadata: { annotations?: Record<string, string> } }): string | undefined {
  return obj.metadata.annotations?.[OWNER_ANNOTATION];
}

/**
 * Annotation that, set to `"true"` on a live Namespace or CustomResourceDefinition, lets a
 * reconciler delete it (when it leaves Git) even though it still holds objects the reconciler
 * does not delete in the same pass. Without it such a deletion is refused with
 * `NAMESPACE_NOT_EMPTY`, because deleting a Namespace deletes everything in it, and deleting a
 * CRD deletes every custom resource of its kind.
 */
export const NAMESPACE_DELETE_ANNOTATION = 'converge.dev/delete-contents';

/**
 * Annotation that, set to `enabled`, lets a reconciler delete and re-create an object whose
 * apply fails because an immutable field changed (a Job's template, a Service's clusterIP), as
 * Flux's `kustomize.toolkit.fluxcd.io/force` does. Without it such an apply fails with
 * `IMMUTABLE_FIELD`.
 */
export const FORCE_ANNOTATION = 'converge.dev/force';
