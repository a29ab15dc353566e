import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InventoryDamagedError, decodeInventory, encodeInventory } from '@converge/core';
import type { KubeObject, ObjectRef, SinkCallOptions } from '@converge/core';
import { KubeHttpError, KubeSinkError } from './errors.js';
import { toKubeError } from './internal/to-kube-error.js';
import type { SinkContext } from './internal/context.js';

/** Where inventories are stored. */
export interface InventoryOptions {
  /**
   * The namespace holding the inventory ConfigMaps; created on first write if missing. An
   * identity without cluster-wide rights should point this at a namespace it may write.
   * @default 'converge-system'
   */
  namespace?: string;
  /**
   * The ConfigMap name; `{owner}` is replaced by the reconciler's name (made DNS-safe).
   * @default 'converge-inventory-{owner}'
   */
  name?: string;
}

/** Label put on every inventory ConfigMap, so they can be listed. */
export const INVENTORY_LABEL = 'converge.dev/inventory';
/** Annotation holding the reconciler's exact name. */
export const INVENTORY_OWNER_ANNOTATION = 'converge.dev/owner';
/** The ConfigMap key holding the refs as `encodeInventory` JSON, when they fit as text. */
export const INVENTORY_DATA_KEY = 'inventory';
/** The key of earlier versions: one `refKey` per line. Still read, never written. */
const LEGACY_DATA_KEY = 'refs';
/** Binary key prefix holding gzip-compressed JSON in parts, for inventories too large for text. */
const COMPRESSED_KEY = 'inventory.json.gz';
/** Annotations of a compressed inventory: how many parts, and the digest of the whole. */
const PARTS_ANNOTATION = 'converge.dev/inventory-parts';
const DIGEST_ANNOTATION = 'converge.dev/inventory-sha256';
/** Label naming the inventory a part ConfigMap belongs to. */
const PART_OF_LABEL = 'converge.dev/inventory-part-of';

/** Inventories up to this size are stored as readable JSON text. */
const TEXT_LIMIT = 512 * 1024;
/** Bytes of compressed inventory per ConfigMap (ConfigMaps hold at most 1 MiB). */
const PART_BYTES = 768 * 1024;
/** Most ConfigMaps one inventory may span (12 MiB compressed: millions of refs). */
const MAX_PARTS = 16;

/** Makes `owner` usable in an object name; if anything had to change, a short hash keeps names distinct. */
function dnsSafe(owner: string): string {
  const cleaned = owner
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
  if (cleaned === owner && cleaned) return cleaned;
  const hash = createHash('sha256').update(owner).digest('hex').slice(0, 8);
  return cleaned ? `${cleaned}-${hash}` : hash;
}

/** Where an inventory ConfigMap lives. */
export interface InventoryLocation {
  /** The ConfigMap's namespace. */
  namespace: string;
  /** The ConfigMap's name. */
  name: string;
}

/** The namespace and name of `owner`'s inventory ConfigMap. */
export function inventoryLocation(owner: string, options: InventoryOptions = {}): InventoryLocation {
  return {
    namespace: options.namespace ?? 'converge-system',
    name: (options.name ?? 'converge-inventory-{owner}').replaceAll('{owner}', dnsSafe(owner)),
  };
}

function path(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`;
}

function inventoryRef(namespace: string, name: string): ObjectRef {
  return { group: '', kind: 'ConfigMap', namespace, name };
}

type ConfigMap = KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> };

async function getConfigMap(ctx: SinkContext, namespace: string, name: string, signal?: AbortSignal): Promise<ConfigMap | undefined> {
  try {
    return await ctx.transport.request<ConfigMap>({ method: 'GET', path: path(namespace, name), signal });
  } catch (err) {
    if (err instanceof KubeHttpError && err.status === 404) return undefined;
    throw toKubeError(err, { ref: inventoryRef(namespace, name), verb: 'get', resource: 'configmaps' });
  }
}

function partName(name: string, digest: string, index: number): string {
  return `${name}-${digest.slice(0, 12)}-${index}`;
}

/**
 * The part ConfigMaps each inventory had when this sink last read or wrote it, so a write can
 * remove the parts it replaces by name (no LIST right needed on the inventory namespace).
 */
const knownParts = new WeakMap<SinkContext, Map<string, string[]>>();

function partsOf(head: ConfigMap | undefined): string[] {
  const parts = Number(head?.metadata.annotations?.[PARTS_ANNOTATION] ?? '1');
  const digest = head?.metadata.annotations?.[DIGEST_ANNOTATION];
  if (!head || !digest || !Number.isInteger(parts) || parts < 2 || parts > MAX_PARTS) return [];
  return Array.from({ length: parts - 1 }, (_, i) => partName(head.metadata.name, digest, i + 1));
}

/**
 * The resourceVersion of each inventory as this sink last read or wrote it. A read that finds
 * another version, or a write whose precondition fails, means another process wrote the same
 * reconciler's inventory in between: two replicas of one reconciler, which would undo each
 * other's work. Until leader election is used, that is reported as `CONCURRENT_WRITER`.
 */
const seenVersions = new WeakMap<SinkContext, Map<string, string>>();

function seen(ctx: SinkContext): Map<string, string> {
  let map = seenVersions.get(ctx);
  if (!map) seenVersions.set(ctx, (map = new Map()));
  return map;
}

function concurrentWriter(owner: string, namespace: string, name: string): KubeSinkError {
  return new KubeSinkError(
    'CONCURRENT_WRITER',
    `another process wrote the inventory of reconciler "${owner}" (${namespace}/${name}) since this one did: two replicas are reconciling the same ` +
      'application and will undo each other\'s changes. Run one replica per reconciler name (or elect a leader); this pass changed nothing and will be retried',
    { data: { ref: inventoryRef(namespace, name), retryable: true } },
  );
}

function rememberParts(ctx: SinkContext, owner: string, parts: string[]): void {
  let map = knownParts.get(ctx);
  if (!map) knownParts.set(ctx, (map = new Map()));
  map.set(owner, parts);
}

/**
 * Reads the refs recorded for `owner` (one GET, plus one per extra part of a very large
 * inventory), or `undefined` if it never recorded any. A ConfigMap of the same name recorded
 * for a different owner is an error, not an inventory. A damaged record is not an error:
 * what can be decoded is returned, and entries that cannot be come back as invalid refs
 * (see `decodeInventory`) for the runtime to report and drop.
 */
export async function readInventory(ctx: SinkContext, owner: string, inventory: InventoryOptions, options: SinkCallOptions = {}): Promise<ObjectRef[] | undefined> {
  const { namespace, name } = inventoryLocation(owner, inventory);
  const cm = await getConfigMap(ctx, namespace, name, options.signal);
  rememberParts(ctx, owner, partsOf(cm));
  const before = seen(ctx).get(owner);
  const version = cm?.metadata['resourceVersion'] as string | undefined;
  if (version === undefined) seen(ctx).delete(owner);
  else seen(ctx).set(owner, version);
  if (before !== undefined && version !== undefined && before !== version) throw concurrentWriter(owner, namespace, name);
  if (!cm) return undefined;
  const recordedOwner = cm.metadata.annotations?.[INVENTORY_OWNER_ANNOTATION];
  if (recordedOwner !== undefined && recordedOwner !== owner) {
    throw new KubeSinkError(
      'INVENTORY_INVALID',
      `inventory ConfigMap ${namespace}/${name} belongs to reconciler "${recordedOwner}", not "${owner}"; give one of them another inventory name`,
      { data: { ref: inventoryRef(namespace, name) } },
    );
  }
  if (cm.binaryData?.[`${COMPRESSED_KEY}.0`] !== undefined) return decodeInventory(await readCompressed(ctx, cm, namespace, name, options.signal));
  return decodeInventory(cm.data?.[INVENTORY_DATA_KEY] ?? cm.data?.[LEGACY_DATA_KEY] ?? '');
}

/** The JSON of a compressed inventory; `InventoryDamagedError` when a part is missing or does not match. */
async function readCompressed(ctx: SinkContext, head: ConfigMap, namespace: string, name: string, signal?: AbortSignal): Promise<string> {
  const parts = Number(head.metadata.annotations?.[PARTS_ANNOTATION] ?? '1');
  const digest = head.metadata.annotations?.[DIGEST_ANNOTATION] ?? '';
  const damaged = (why: string): InventoryDamagedError => new InventoryDamagedError(`inventory ConfigMap ${namespace}/${name}: ${why}`, { ref: inventoryRef(namespace, name) });
  if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTS) throw damaged(`it names ${parts} parts`);
  const chunks = [Buffer.from(head.binaryData?.[`${COMPRESSED_KEY}.0`] ?? '', 'base64')];
  for (let i = 1; i < parts; i++) {
    const part = await getConfigMap(ctx, namespace, partName(name, digest, i), signal);
    chunks.push(Buffer.from(part?.binaryData?.[`${COMPRESSED_KEY}.${i}`] ?? '', 'base64'));
  }
  const gz = Buffer.concat(chunks);
  if (createHash('sha256').update(gz).digest('hex') !== digest) throw damaged('its parts do not match its digest (a part is missing or was changed)');
  try {
    return gunzipSync(gz, { maxOutputLength: 256 * 1024 * 1024 }).toString('utf8');
  } catch (err) {
    throw damaged(`it does not decompress (${(err as Error).message})`);
  }
}

/**
 * Records `refs` as everything `owner` manages, replacing the previous record: one
 * server-side apply of the inventory ConfigMap, as JSON text (`encodeInventory`) or, when
 * that is over 512 KiB, compressed and split over ConfigMaps of at most 768 KiB each. Parts
 * are written under names carrying their digest before the head that points at them, so a
 * reader never sees half of a new inventory; stale parts are removed afterwards. If the
 * namespace does not exist yet it is created and the write retried.
 */
export async function writeInventory(
  ctx: SinkContext,
  owner: string,
  refs: readonly ObjectRef[],
  inventory: InventoryOptions,
  options: SinkCallOptions = {},
): Promise<void> {
  const { namespace, name } = inventoryLocation(owner, inventory);
  const json = encodeInventory(refs);
  const labels = { [INVENTORY_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'converge' };
  const annotations: Record<string, string> = { [INVENTORY_OWNER_ANNOTATION]: owner };
  let head: ConfigMap;
  let parts: ConfigMap[] = [];
  if (Buffer.byteLength(json) <= TEXT_LIMIT) {
    head = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels, annotations }, data: { [INVENTORY_DATA_KEY]: json } };
  } else {
    const gz = gzipSync(json, { level: 9 });
    const count = Math.ceil(gz.length / PART_BYTES);
    if (count > MAX_PARTS) {
      throw new KubeSinkError('INVENTORY_TOO_LARGE', `the inventory of "${owner}" (${refs.length} objects) needs more than ${MAX_PARTS} ConfigMaps; split the reconciler`, {
        data: { ref: inventoryRef(namespace, name) },
      });
    }
    const digest = createHash('sha256').update(gz).digest('hex');
    const chunk = (i: number): Record<string, string> => ({ [`${COMPRESSED_KEY}.${i}`]: gz.subarray(i * PART_BYTES, (i + 1) * PART_BYTES).toString('base64') });
    annotations[PARTS_ANNOTATION] = String(count);
    annotations[DIGEST_ANNOTATION] = digest;
    head = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels, annotations }, binaryData: chunk(0) };
    parts = Array.from({ length: count - 1 }, (_, k) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: partName(name, digest, k + 1), namespace, labels: { ...labels, [PART_OF_LABEL]: name }, annotations: { [INVENTORY_OWNER_ANNOTATION]: owner } },
      binaryData: chunk(k + 1),
    }));
  }
  for (const part of parts) await applyConfigMap(ctx, part, options.signal);
  // The version read or written last is a precondition: a write in between is another writer.
  const expected = seen(ctx).get(owner);
  if (expected !== undefined) head.metadata['resourceVersion'] = expected;
  try {
    const stored = await applyConfigMap(ctx, head, options.signal);
    seen(ctx).set(owner, stored.metadata['resourceVersion'] as string);
  } catch (err) {
    if (err instanceof KubeSinkError && err.data.status === 409) {
      seen(ctx).delete(owner);
      throw concurrentWriter(owner, namespace, name);
    }
    throw err;
  }
  const current = parts.map((p) => p.metadata.name);
  const stale = (knownParts.get(ctx)?.get(owner) ?? []).filter((n) => !current.includes(n));
  rememberParts(ctx, owner, current);
  await deleteParts(ctx, namespace, stale, options.signal);
}

/** One server-side apply of an inventory ConfigMap, creating its namespace first if it is missing. */
async function applyConfigMap(ctx: SinkContext, body: ConfigMap, signal?: AbortSignal): Promise<ConfigMap> {
  const { namespace, name } = body.metadata as { namespace: string; name: string };
  const apply = (): Promise<ConfigMap> =>
    ctx.transport.request<ConfigMap>({
      method: 'PATCH',
      path: path(namespace, name),
      query: { fieldManager: ctx.fieldManager, force: true },
      contentType: 'application/apply-patch+yaml',
      body,
      signal,
    });
  const ref = inventoryRef(namespace, name);
  try {
    return await apply();
  } catch (err) {
    if (!(err instanceof KubeHttpError && err.status === 404 && err.body?.details?.kind === 'namespaces')) {
      throw toKubeError(err, { ref, verb: 'patch', resource: 'configmaps' });
    }
    try {
      await ctx.transport.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}`,
        query: { fieldManager: ctx.fieldManager },
        contentType: 'application/apply-patch+yaml',
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        signal,
      });
      return await apply();
    } catch (second) {
      throw toKubeError(second, { ref, verb: 'patch', resource: 'configmaps' });
    }
  }
}

/** Deletes part ConfigMaps by name (already gone is fine). */
async function deleteParts(ctx: SinkContext, namespace: string, names: readonly string[], signal?: AbortSignal): Promise<void> {
  for (const name of names) {
    try {
      await ctx.transport.request({ method: 'DELETE', path: path(namespace, name), signal });
    } catch (err) {
      if (!(err instanceof KubeHttpError && err.status === 404)) throw toKubeError(err, { ref: inventoryRef(namespace, name), verb: 'delete', resource: 'configmaps' });
    }
  }
}

/**
 * Removes `owner`'s inventory ConfigMap (one DELETE; already gone is fine), and its parts, so a
 * reconciler that is retired for good — a fleet's removed application — leaves no record
 * behind. A ConfigMap of that name recorded for another owner is left alone and reported.
 */
export async function deleteInventory(ctx: SinkContext, owner: string, inventory: InventoryOptions, options: SinkCallOptions = {}): Promise<void> {
  // readInventory checks the owner annotation: never delete another reconciler's record.
  if ((await readInventory(ctx, owner, inventory, options)) === undefined) return;
  const { namespace, name } = inventoryLocation(owner, inventory);
  try {
    await ctx.transport.request({ method: 'DELETE', path: path(namespace, name), signal: options.signal });
  } catch (err) {
    if (!(err instanceof KubeHttpError && err.status === 404)) throw toKubeError(err, { ref: inventoryRef(namespace, name), verb: 'delete', resource: 'configmaps' });
  }
  await deleteParts(ctx, namespace, knownParts.get(ctx)?.get(owner) ?? [], options.signal);
  rememberParts(ctx, owner, []);
  seen(ctx).delete(owner);
}

/**
 * Whether `ref` names an inventory ConfigMap (or a part of one) of any reconciler in the
 * inventory namespace: such a ConfigMap may not be a desired object, or a reconciler could
 * write its own record and then prune what it names.
 */
export function isInventoryRef(ref: ObjectRef, inventory: InventoryOptions = {}): boolean {
  if (ref.group !== '' || ref.kind !== 'ConfigMap' || ref.namespace !== inventoryLocation('', inventory).namespace) return false;
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const name = (inventory.name ?? 'converge-inventory-{owner}').split('{owner}').map(escape).join('.+');
  return new RegExp(`^${name}(-[0-9a-f]{12}-\\d+)?$`).test(ref.name);
}
