import { createHash } from 'node:crypto';
import { parseRefKey, refKey } from '@converge/core';
import type { KubeObject, ObjectRef, SinkCallOptions } from '@converge/core';
import { KubeHttpError, KubeSinkError, toKubeError } from './errors.js';
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
/** The ConfigMap key holding the refs, one `refKey` per line, sorted. */
export const INVENTORY_DATA_KEY = 'refs';

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

/**
 * Reads the refs recorded for `owner` (one GET), or `undefined` if it never recorded any.
 * A ConfigMap of the same name recorded for a different owner is an error, not an inventory.
 */
export async function readInventory(ctx: SinkContext, owner: string, inventory: InventoryOptions, options: SinkCallOptions = {}): Promise<ObjectRef[] | undefined> {
  const { namespace, name } = inventoryLocation(owner, inventory);
  let cm: KubeObject & { data?: Record<string, string> };
  try {
    cm = await ctx.transport.request({ method: 'GET', path: path(namespace, name), signal: options.signal });
  } catch (err) {
    if (err instanceof KubeHttpError && err.status === 404) return undefined;
    throw toKubeError(err, { ref: inventoryRef(namespace, name), verb: 'get', resource: 'configmaps' });
  }
  const recordedOwner = cm.metadata.annotations?.[INVENTORY_OWNER_ANNOTATION];
  if (recordedOwner !== undefined && recordedOwner !== owner) {
    throw new KubeSinkError(
      'INVENTORY_INVALID',
      `inventory ConfigMap ${namespace}/${name} belongs to reconciler "${recordedOwner}", not "${owner}"; give one of them another inventory name`,
      { data: { ref: inventoryRef(namespace, name) } },
    );
  }
  const text = cm.data?.[INVENTORY_DATA_KEY] ?? '';
  try {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => parseRefKey(line));
  } catch (err) {
    throw new KubeSinkError('INVENTORY_INVALID', `inventory ConfigMap ${namespace}/${name} is corrupt: ${(err as Error).message}`, {
      data: { ref: inventoryRef(namespace, name) },
      cause: err,
    });
  }
}

/**
 * Records `refs` as everything `owner` manages, replacing the previous record: one
 * server-side apply of the inventory ConfigMap. If its namespace does not exist yet it is
 * created and the write retried.
 */
export async function writeInventory(
  ctx: SinkContext,
  owner: string,
  refs: readonly ObjectRef[],
  inventory: InventoryOptions,
  options: SinkCallOptions = {},
): Promise<void> {
  const { namespace, name } = inventoryLocation(owner, inventory);
  const lines = [...new Set(refs.map(refKey))].sort();
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      labels: { [INVENTORY_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'converge' },
      annotations: { [INVENTORY_OWNER_ANNOTATION]: owner },
    },
    data: { [INVENTORY_DATA_KEY]: lines.join('\n') },
  };
  const apply = (): Promise<unknown> =>
    ctx.transport.request({
      method: 'PATCH',
      path: path(namespace, name),
      query: { fieldManager: ctx.fieldManager, force: true },
      contentType: 'application/apply-patch+yaml',
      body,
      signal: options.signal,
    });
  const ref = inventoryRef(namespace, name);
  try {
    await apply();
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
        signal: options.signal,
      });
      await apply();
    } catch (second) {
      throw toKubeError(second, { ref, verb: 'patch', resource: 'configmaps' });
    }
  }
}

/**
 * Removes `owner`'s inventory ConfigMap (one DELETE; already gone is fine), so a reconciler that
 * is retired for good — a fleet's removed application — leaves no record behind. A ConfigMap of
 * that name recorded for another owner is left alone and reported.
 */
export async function deleteInventory(ctx: SinkContext, owner: string, inventory: InventoryOptions, options: SinkCallOptions = {}): Promise<void> {
  // readInventory checks the owner annotation: never delete another reconciler's record.
  if ((await readInventory(ctx, owner, inventory, options)) === undefined) return;
  const { namespace, name } = inventoryLocation(owner, inventory);
  try {
    await ctx.transport.request({ method: 'DELETE', path: path(namespace, name), signal: options.signal });
  } catch (err) {
    if (err instanceof KubeHttpError && err.status === 404) return;
    throw toKubeError(err, { ref: inventoryRef(namespace, name), verb: 'delete', resource: 'configmaps' });
  }
}
