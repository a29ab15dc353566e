import { OwnershipConflictError, formatRef, gvkOf, ownerOf, refOf, sleep, toConvergeError } from '@converge/core';
import type { ApplyOptions, ApplyResult, KubeObject, ObjectRef } from '@converge/core';
import type { ResourceMapping } from './discovery.js';
import { KubeHttpError, KubeSinkError, UnknownKindError } from './errors.js';
import { toKubeError } from './internal/to-kube-error.js';
import { resourcePath } from './resource-path.js';
import type { SinkContext } from './internal/context.js';
import { fieldManagerFor } from './internal/field-manager.js';
import { mapLimit } from './internal/limit.js';

const CRD_GROUP = 'apiextensions.k8s.io';

/**
 * Fields the server owns; sending them in an apply body is an error. `resourceVersion` is
 * kept: it is the precondition the object was planned against.
 */
const SERVER_METADATA = ['managedFields', 'uid', 'creationTimestamp', 'generation', 'selfLink'];

/** How often a claim is retried when the object keeps changing under it (status updates, other writers). */
const CLAIM_ATTEMPTS = 4;

function isNamespace(obj: KubeObject): boolean {
  return obj.kind === 'Namespace' && obj.apiVersion === 'v1';
}

function isCrd(obj: KubeObject): boolean {
  return obj.kind === 'CustomResourceDefinition' && gvkOf(obj).group === CRD_GROUP;
}

function isSecret(obj: KubeObject): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

/** The apply body: the manifest minus server-owned fields, with the namespace the URL uses and the precondition, if any. */
function applyBody(obj: KubeObject, namespace: string | undefined, resourceVersion: string | undefined): KubeObject {
  const { status: _status, ...rest } = obj;
  const metadata = { ...obj.metadata };
  for (const f of SERVER_METADATA) delete metadata[f];
  if (resourceVersion === undefined) delete metadata['resourceVersion'];
  else metadata['resourceVersion'] = resourceVersion;
  if (namespace) metadata.namespace = namespace;
  else delete metadata.namespace;
  return { ...rest, metadata } as KubeObject;
}

interface CrdSpec {
  group?: string;
  names?: { kind?: string };
}

function isEstablished(crd: KubeObject): boolean {
  const conditions = (crd['status'] as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Established' && c.status === 'True');
}

/**
 * Applies one object with server-side apply: one PATCH (`application/apply-patch+yaml`, the
 * manifest sent as written so no field is dropped), under the owner's own field manager.
 *
 * With `options.owner`, the object is claimed atomically: its `metadata.resourceVersion` (the
 * version it was planned against) is sent as a precondition, and an object planned as new is
 * applied without force, so that an owner annotation another reconciler set meanwhile is a
 * conflict. On either conflict the object is read again: if another owner now holds it, the
 * result is `OWNERSHIP_CONFLICT`; otherwise the apply is retried against what was read.
 */
export async function applyOne(
  ctx: SinkContext,
  obj: KubeObject,
  options: ApplyOptions & { crdKinds?: Set<string>; dryRunNamespaces?: Set<string> },
): Promise<ApplyResult> {
  const ref = refOf(obj);
  const secret = isSecret(obj);
  let mapping: ResourceMapping;
  try {
    mapping = await ctx.discovery.resolve(gvkOf(obj), { signal: options.signal });
  } catch (err) {
    let error = toKubeError(err, { ref, verb: 'patch', secret });
    if (error instanceof UnknownKindError && options.dryRun && options.crdKinds?.has(`${ref.group}/${ref.kind}`)) {
      error = new UnknownKindError(
        `${error.message} (its CustomResourceDefinition is part of this apply, but a dry run does not create it)`,
        error.data,
      );
    }
    if (!error.data.ref) error.data.ref = ref;
    return { ref, ok: false, error };
  }
  const namespace = mapping.namespaced ? (obj.metadata.namespace ?? ctx.defaultNamespace) : undefined;
  const path = resourcePath(mapping, namespace, obj.metadata.name);
  const force = options.force ?? ctx.force;
  const claiming = options.owner !== undefined;
  const fieldManager = fieldManagerFor(ctx.fieldManager, options.owner);
  let precondition = typeof obj.metadata['resourceVersion'] === 'string' ? (obj.metadata['resourceVersion'] as string) : undefined;
  // Planned as new: without force, another owner's annotation on an object made meanwhile conflicts.
  let forceNow = claiming && precondition === undefined ? false : force;
  // The watch event of this write may come before its answer: the cache keeps it for us.
  if (!options.dryRun) ctx.informers.claim(ref, ctx.defaultNamespace);
  for (let attempt = 1; ; attempt++) {
    try {
      const stored = await ctx.transport.request<KubeObject>({
        method: 'PATCH',
        path,
        query: { fieldManager, force: forceNow, fieldValidation: 'Strict', dryRun: options.dryRun ? 'All' : undefined },
        contentType: 'application/apply-patch+yaml',
        body: applyBody(obj, namespace, precondition),
        signal: options.signal,
      });
      if (!options.dryRun) ctx.ownWrites.wrote(ref, stored);
      return { ref, ok: true, object: stored };
    } catch (err) {
      // A dry run does not create the Namespace it applies, so the server cannot validate the
      // objects that go into it. They would be created with it: report them as such (unvalidated)
      // rather than failing every first deploy into a new namespace.
      if (options.dryRun && namespace && options.dryRunNamespaces?.has(namespace) && isNamespaceNotFound(err, namespace)) {
        return { ref, ok: true, object: applyBody(obj, namespace, undefined) };
      }
      if (!claiming || !isClaimConflict(err, precondition, forceNow !== force) || attempt >= CLAIM_ATTEMPTS) {
        return { ref, ok: false, error: toKubeError(err, { ref, verb: 'patch', resource: mapping.resource, secret, clusterScoped: !mapping.namespaced }) };
      }
    }
    // A conflict while claiming: who holds the object now?
    let live: KubeObject;
    try {
      live = await ctx.transport.request<KubeObject>({ method: 'GET', path, signal: options.signal });
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) {
        precondition = undefined; // deleted meanwhile: apply it as new
        forceNow = false;
        continue;
      }
      return { ref, ok: false, error: toKubeError(err, { ref, verb: 'get', resource: mapping.resource, secret, clusterScoped: !mapping.namespaced }) };
    }
    const holder = ownerOf(live);
    if (holder !== undefined && holder !== options.owner) return { ref, ok: false, error: claimedBy(ref, holder, options.owner as string) };
    precondition = live.metadata['resourceVersion'] as string | undefined;
    forceNow = force;
  }
}

/**
 * Whether a failed claim may be retried after reading the object again: the precondition no
 * longer held (409 "modified", or gone), or the apply was sent without the force the caller
 * asked for and conflicted over fields (possibly another owner's annotation).
 */
function isClaimConflict(err: unknown, precondition: string | undefined, forceWithheld: boolean): boolean {
  if (!(err instanceof KubeHttpError)) return false;
  const fieldConflict = (err.body?.details?.causes ?? []).some((c) => c.reason === 'FieldManagerConflict');
  if (err.status === 409) return fieldConflict ? forceWithheld : true;
  return err.status === 404 && precondition !== undefined && err.body?.details?.kind !== 'namespaces';
}

function claimedBy(ref: ObjectRef, holder: string, owner: string): OwnershipConflictError {
  return new OwnershipConflictError(
    `${formatRef(ref)} is owned by reconciler "${holder}", which claimed it while "${owner}" was applying it; ` +
      'remove it from one of them, or set adopt to take it over',
    { ref, conflicts: [{ ref, owner: holder }] },
  );
}

function isNamespaceNotFound(err: unknown, namespace: string): boolean {
  if (!(err instanceof KubeHttpError) || err.status !== 404) return false;
  const details = (err.body as { details?: { kind?: string; name?: string } } | undefined)?.details;
  return details?.kind === 'namespaces' && details.name === namespace;
}

/** Polls a CRD until its `Established` condition is true, so its kind can be served. */
async function waitEstablished(ctx: SinkContext, result: ApplyResult & { ok: true }, signal?: AbortSignal): Promise<ApplyResult> {
  const name = result.object.metadata.name;
  const deadline = ctx.clock.now() + ctx.crdEstablishedTimeoutMs;
  let crd = result.object;
  try {
    while (!isEstablished(crd)) {
      if (ctx.clock.now() > deadline) {
        return {
          ref: result.ref,
          ok: false,
          error: new KubeSinkError(
            'CRD_NOT_ESTABLISHED',
            `CustomResourceDefinition ${name} was applied but not Established within ${ctx.crdEstablishedTimeoutMs} ms; ` +
              'its custom resources were not applied. Check its status conditions (e.g. NamesAccepted).',
            { data: { ref: result.ref, retryable: true } },
          ),
        };
      }
      await sleep(ctx.clock, 100, signal);
      crd = await ctx.transport.request<KubeObject>({
        method: 'GET',
        path: `/apis/${CRD_GROUP}/v1/customresourcedefinitions/${encodeURIComponent(name)}`,
        signal,
      });
    }
  } catch (err) {
    return { ref: result.ref, ok: false, error: toKubeError(err, { ref: result.ref, verb: 'get', resource: 'customresourcedefinitions' }) };
  }
  ctx.discovery.invalidate((crd['spec'] as CrdSpec | undefined)?.group);
  return result;
}

/**
 * Applies objects in two waves: Namespaces and CustomResourceDefinitions first (CRDs waited
 * for until Established, unless dry-running), then everything else, with at most
 * `ctx.concurrency` requests in flight and starts kept in the given order. In a dry run, objects
 * whose Namespace is part of the same apply but does not exist yet cannot be validated by the
 * server; they are reported as applied (the object as it would be sent). Resolves with one
 * result per object, in input order; never rejects for a per-object failure.
 */
export async function applyObjects(ctx: SinkContext, objects: readonly KubeObject[], options: ApplyOptions = {}): Promise<ApplyResult[]> {
  const results = new Array<ApplyResult>(objects.length);
  const first: number[] = [];
  const rest: number[] = [];
  const crdKinds = new Set<string>();
  objects.forEach((obj, i) => {
    if (isNamespace(obj) || isCrd(obj)) first.push(i);
    else rest.push(i);
    if (isCrd(obj)) {
      const spec = obj['spec'] as CrdSpec | undefined;
      if (spec?.group && spec.names?.kind) crdKinds.add(`${spec.group}/${spec.names.kind}`);
    }
  });
  const dryRunNamespaces = new Set<string>();
  const opts = { ...options, crdKinds, dryRunNamespaces };

  const run = async (i: number, afterApply?: (r: ApplyResult & { ok: true }) => Promise<ApplyResult>): Promise<void> => {
    const obj = objects[i] as KubeObject;
    let result: ApplyResult;
    try {
      result = await applyOne(ctx, obj, opts);
      if (result.ok && afterApply) result = await afterApply(result);
      if (result.ok && options.dryRun && isNamespace(obj)) dryRunNamespaces.add(obj.metadata.name);
    } catch (err) {
      result = { ref: refOf(obj), ok: false, error: toConvergeError(err) };
    }
    results[i] = result;
    options.onResult?.(result);
  };

  await mapLimit(first, ctx.concurrency, (i) =>
    run(i, (r) => (!options.dryRun && isCrd(objects[i] as KubeObject) ? waitEstablished(ctx, r, options.signal) : Promise.resolve(r))),
  );
  await mapLimit(rest, ctx.concurrency, (i) => run(i));
  return results;
}
