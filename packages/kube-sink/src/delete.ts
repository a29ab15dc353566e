import { isPruneDisabled, ownerOf } from '@converge/core';
import type { DeleteOptions, DeleteResult, KubeObject, ObjectRef } from '@converge/core';
import type { ResourceMapping } from './discovery.js';
import { KubeHttpError, UnknownKindError } from './errors.js';
import { toKubeError } from './internal/to-kube-error.js';
import { resourcePath } from './resource-path.js';
import type { SinkContext } from './internal/context.js';
import { mapLimit } from './internal/limit.js';

/** The result of a delete: `DeleteResult`, whose `skipped` says when an object was kept on purpose. */
export type KubeDeleteResult = DeleteResult;

/** How often a delete is retried when the object changed between reading and deleting it. */
const DELETE_ATTEMPTS = 3;

function isFoundation(ref: ObjectRef): boolean {
  return (ref.group === '' && ref.kind === 'Namespace') || (ref.group === 'apiextensions.k8s.io' && ref.kind === 'CustomResourceDefinition');
}

async function deleteOne(ctx: SinkContext, ref: ObjectRef, options: DeleteOptions): Promise<KubeDeleteResult> {
  const { signal } = options;
  let mapping: ResourceMapping;
  try {
    mapping = await ctx.discovery.resolve({ group: ref.group, kind: ref.kind }, { signal });
  } catch (err) {
    // A kind the server no longer serves has no objects left to delete.
    if (err instanceof UnknownKindError) return { ref, ok: true, found: false };
    return { ref, ok: false, error: toKubeError(err, { ref, verb: 'delete' }) };
  }
  const path = resourcePath(mapping, mapping.namespaced ? (ref.namespace ?? ctx.defaultNamespace) : undefined, ref.name);
  const secret = ref.kind === 'Secret' && ref.group === '';
  let verb = 'get';
  try {
    for (let attempt = 1; ; attempt++) {
      verb = 'get';
      const live = await ctx.transport.request<KubeObject>({ method: 'GET', path, signal });
      if (isPruneDisabled(live)) return { ref, ok: true, found: true, skipped: 'prune-disabled' };
      const holder = ownerOf(live);
      // Only what carries our name: not another reconciler's, nor one made by hand under a recorded name.
      if (options.owner !== undefined && holder !== options.owner) return { ref, ok: true, found: true, skipped: 'owned-by-other' };
      verb = 'delete';
      try {
        await ctx.transport.request({
          method: 'DELETE',
          path,
          // The query's dryRun is for the transport's bookkeeping: with a body, the API server
          // reads every option from the body and ignores the query, so it must say dryRun too.
          query: { dryRun: options.dryRun ? 'All' : undefined },
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            propagationPolicy: ctx.propagationPolicy,
            ...(options.dryRun && { dryRun: ['All'] }),
            // Delete exactly what was checked above: not an object recreated under the same name,
            // nor one another reconciler claimed (or someone protected) since it was read.
            preconditions: { uid: live.metadata['uid'], resourceVersion: live.metadata['resourceVersion'] },
          },
          signal,
        });
      } catch (err) {
        if (err instanceof KubeHttpError && err.status === 409 && attempt < DELETE_ATTEMPTS) continue; // changed since read: check again
        throw err;
      }
      if (!options.dryRun) ctx.ownWrites.deleted(ref);
      return { ref, ok: true, found: true };
    }
  } catch (err) {
    if (err instanceof KubeHttpError && err.status === 404) {
      if (!options.dryRun) ctx.ownWrites.deleted(ref);
      return { ref, ok: true, found: false };
    }
    return { ref, ok: false, error: toKubeError(err, { ref, verb, resource: mapping.resource, secret, clusterScoped: !mapping.namespaced }) };
  }
}

/**
 * Deletes objects, given in delete order, with the configured `propagationPolicy`. Each
 * object is read first: one annotated `converge.dev/prune: disabled` is kept (and reported
 * with `skipped: 'prune-disabled'`), and with `options.owner`, so is one not annotated with
 * that owner (`skipped: 'owned-by-other'`); the delete carries the uid and
 * resourceVersion read as preconditions, so an object changed meanwhile is checked again.
 * An object already gone is `found: false`; one that cannot be read is an error. Namespaces and
 * CRDs go last, after the objects they contain.
 */
export async function deleteObjects(ctx: SinkContext, refs: readonly ObjectRef[], options: DeleteOptions = {}): Promise<KubeDeleteResult[]> {
  const results = new Array<KubeDeleteResult>(refs.length);
  const order = refs.map((_, i) => i);
  const rest = order.filter((i) => !isFoundation(refs[i] as ObjectRef));
  const last = order.filter((i) => isFoundation(refs[i] as ObjectRef));
  const run = async (i: number): Promise<void> => {
    const result = await deleteOne(ctx, refs[i] as ObjectRef, options);
    results[i] = result;
    options.onResult?.(result);
  };
  await mapLimit(rest, ctx.concurrency, run);
  await mapLimit(last, ctx.concurrency, run);
  return results;
}
