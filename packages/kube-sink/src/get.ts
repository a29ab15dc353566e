import { ownerOf, refKey } from '@converge/core';
import type { KubeObject, ObjectRef, SinkCallOptions } from '@converge/core';
import type { ResourceMapping } from './discovery.js';
import { KubeHttpError, UnknownKindError } from './errors.js';
import { toKubeError } from './internal/to-kube-error.js';
import { resourceName, resourcePath } from './resource-path.js';
import type { KubeTransport } from './transport.js';
import type { SinkContext } from './internal/context.js';
import { groupRefs } from './internal/group-refs.js';
import { mapLimit } from './internal/limit.js';

/**
 * From this many refs of one kind in one namespace on, one LIST (paged) replaces the GETs.
 * @internal
 */
export const LIST_THRESHOLD = 4;

interface KubeList {
  metadata?: { continue?: string; resourceVersion?: string };
  items?: KubeObject[];
}

/** The object with its `apiVersion` and `kind`, which items of a LIST of a built-in type lack. */
export function withTypeMeta(obj: KubeObject, mapping: ResourceMapping): KubeObject {
  if (!obj.apiVersion || !obj.kind) {
    return { ...obj, apiVersion: mapping.group ? `${mapping.group}/${mapping.version}` : mapping.version, kind: mapping.kind };
  }
  return obj;
}

/** Lists a whole collection (optionally narrowed by a field selector) page by page. */
export async function listAll(
  transport: KubeTransport,
  mapping: ResourceMapping,
  namespace: string | undefined,
  signal?: AbortSignal,
  fieldSelector?: string,
): Promise<{ items: KubeObject[]; resourceVersion: string | undefined }> {
  const items: KubeObject[] = [];
  let token: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const page = await transport.request<KubeList>({
      method: 'GET',
      path: resourcePath(mapping, namespace),
      query: { limit: 500, continue: token, fieldSelector },
      signal,
    });
    for (const item of page.items ?? []) items.push(withTypeMeta(item, mapping));
    token = page.metadata?.continue || undefined;
    resourceVersion = page.metadata?.resourceVersion;
  } while (token);
  return { items, resourceVersion };
}

async function getOne(ctx: SinkContext, mapping: ResourceMapping, ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject | undefined> {
  try {
    const namespace = ref.namespace ?? ctx.defaultNamespace;
    const obj = await ctx.transport.request<KubeObject>({ method: 'GET', path: resourcePath(mapping, namespace, ref.name), signal });
    return withTypeMeta(obj, mapping);
  } catch (err) {
    // Missing, or not readable by this identity: either way there is nothing to compare with.
    // Applying it then reports a per-object 403 instead of failing every read at once.
    if (err instanceof KubeHttpError && (err.status === 404 || err.status === 403)) return undefined;
    throw toKubeError(err, { ref, verb: 'get', resource: mapping.resource, secret: ref.kind === 'Secret' && ref.group === '' });
  }
}

/**
 * Reads the live objects among `refs`. Absent objects are left out, and so are objects the
 * identity may not read (applying them then fails per object with a clear 403) and objects
 * of kinds the server does not serve. Refs are grouped by kind and namespace: a group of
 * {@link LIST_THRESHOLD} or more is read with one paged LIST (falling back to GETs when the
 * identity may not list), smaller groups with concurrent GETs. Results follow the order of `refs`.
 * With `cacheReads`, objects the watch cache can vouch for (it has seen this sink's last write
 * to them) come from the cache without a request.
 */
export async function getObjects(ctx: SinkContext, refs: readonly ObjectRef[], options: SinkCallOptions = {}): Promise<KubeObject[]> {
  const { signal } = options;
  const found = new Map<string, KubeObject>();
  for (const ref of refs) ctx.informers.claim(ref, ctx.defaultNamespace);
  const fromServer = ctx.cacheReads ? refs.filter((ref) => !readCached(ctx, ref, found)) : refs;
  await getFromServer(ctx, fromServer, found, signal);
  for (const ref of fromServer) {
    const live = found.get(refKey(ref));
    if (ctx.cacheReads) ctx.ownWrites.sawLive(ref, live);
    if (live) ctx.informers.offer(ref, ctx.defaultNamespace, live);
  }
  const out: KubeObject[] = [];
  for (const ref of refs) {
    const obj = found.get(refKey(ref));
    if (!obj) continue;
    ctx.ownWrites.read(ref, obj);
    out.push(obj);
  }
  return out;
}

/** Answers `ref` from the watch cache into `found` if the cache can vouch for it; `false` sends it to the server. */
function readCached(ctx: SinkContext, ref: ObjectRef, found: Map<string, KubeObject>): boolean {
  const read = ctx.informers.read(ref, ctx.defaultNamespace, ctx.ownWrites.fence(ref));
  if (!read.hit) return false;
  ctx.ownWrites.settled(ref);
  // A copy: the cached object is shared with every sink on the cache.
  if (read.object) found.set(refKey(ref), structuredClone(read.object));
  return true;
}

async function getFromServer(ctx: SinkContext, refs: readonly ObjectRef[], found: Map<string, KubeObject>, signal: AbortSignal | undefined): Promise<void> {
  const singles: { mapping: ResourceMapping; ref: ObjectRef }[] = [];
  const lists: { mapping: ResourceMapping; refs: ObjectRef[] }[] = [];

  for (const { refs: group } of groupRefs(refs)) {
    const first = group[0] as ObjectRef;
    let mapping: ResourceMapping;
    try {
      mapping = await ctx.discovery.resolve({ group: first.group, kind: first.kind }, { signal });
    } catch (err) {
      if (err instanceof UnknownKindError) continue;
      throw err;
    }
    // A namespaced kind listed without a namespace would span the cluster; read those one by one.
    if (group.length >= LIST_THRESHOLD && (!mapping.namespaced || first.namespace)) lists.push({ mapping, refs: group });
    else for (const ref of group) singles.push({ mapping, ref });
  }

  await mapLimit(lists, ctx.concurrency, async ({ mapping, refs: wanted }) => {
    let items: KubeObject[];
    try {
      items = (await listAll(ctx.transport, mapping, wanted[0]?.namespace, signal)).items;
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 403) {
        for (const ref of wanted) singles.push({ mapping, ref });
        return;
      }
      throw toKubeError(err, { verb: 'list', resource: mapping.resource });
    }
    const names = new Set(wanted.map((r) => r.name));
    const { group, kind } = wanted[0] as ObjectRef;
    for (const item of items) {
      if (!names.has(item.metadata.name)) continue;
      const ref: ObjectRef = { group, kind, name: item.metadata.name };
      if (item.metadata.namespace) ref.namespace = item.metadata.namespace;
      found.set(refKey(ref), item);
    }
  });

  await mapLimit(singles, ctx.concurrency, async ({ mapping, ref }) => {
    const obj = await getOne(ctx, mapping, ref, signal);
    if (obj) found.set(refKey(ref), obj);
  });
}

/**
 * Every object in `namespace`: one paged LIST per namespaced kind that can be listed and
 * deleted. Rejects (`KUBE_FORBIDDEN`) if some kind may not be listed, because then the
 * namespace cannot be shown to hold nothing else.
 */
export async function listNamespace(ctx: SinkContext, namespace: string, options: SinkCallOptions = {}): Promise<KubeObject[]> {
  const mappings = await ctx.discovery.deletableResources({ signal: options.signal, namespaced: true });
  const lists = await mapLimit(mappings, ctx.concurrency, async (mapping) => {
    try {
      return (await listAll(ctx.transport, mapping, namespace, options.signal)).items;
    } catch (err) {
      // A kind that went away between discovery and the list has no objects here.
      if (err instanceof KubeHttpError && err.status === 404) return [];
      throw toKubeError(err, { verb: 'list', resource: resourceName(mapping) });
    }
  });
  return lists.flat();
}

/** Every object of a kind, in all namespaces: one paged LIST. A kind the server does not serve has none. */
export async function listKind(ctx: SinkContext, kind: { group: string; kind: string }, options: SinkCallOptions = {}): Promise<KubeObject[]> {
  let mapping: ResourceMapping;
  try {
    mapping = await ctx.discovery.resolve(kind, { signal: options.signal });
  } catch (err) {
    if (err instanceof UnknownKindError) return [];
    throw err;
  }
  try {
    return (await listAll(ctx.transport, mapping, undefined, options.signal)).items;
  } catch (err) {
    throw toKubeError(err, { verb: 'list', resource: resourceName(mapping) });
  }
}

/**
 * Refs of every object annotated `converge.dev/owner: owner`, across every kind that can be
 * listed and deleted, cluster-wide: one paged LIST per kind. For rebuilding an inventory that
 * cannot be read; rejects if some kind may not be listed, because then the result proves nothing.
 */
export async function findOwned(ctx: SinkContext, owner: string, options: SinkCallOptions = {}): Promise<ObjectRef[]> {
  const mappings = await ctx.discovery.deletableResources({ signal: options.signal });
  const found = await mapLimit(mappings, ctx.concurrency, async (mapping) => {
    let items: KubeObject[];
    try {
      items = (await listAll(ctx.transport, mapping, undefined, options.signal)).items;
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) return [];
      throw toKubeError(err, { verb: 'list', resource: resourceName(mapping) });
    }
    return items
      .filter((item) => ownerOf(item) === owner)
      .map((item): ObjectRef => ({ group: mapping.group, kind: mapping.kind, name: item.metadata.name, ...(mapping.namespaced && item.metadata.namespace && { namespace: item.metadata.namespace }) }));
  });
  return found.flat();
}
