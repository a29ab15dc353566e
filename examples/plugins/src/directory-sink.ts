import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  decodeInventory,
  encodeInventory,
  formatRef,
  isPruneDisabled,
  isSecret,
  OwnershipConflictError,
  ownerOf,
  refOf,
  SinkError,
  type ApplyOptions,
  type ApplyResult,
  type DeleteOptions,
  type DeleteResult,
  type KubeObject,
  type ObjectRef,
  type Sink,
  type SinkCallOptions,
} from '@converge/core';
import { parse, stringify } from 'yaml';

/** Options of {@link directorySink}. */
export interface DirectorySinkOptions {
  /** The folder objects are written to; created when first written. */
  dir: string;
  /** Write Secrets (their values in plain text) instead of refusing them with `SECRET_REFUSED`. @default false */
  allowSecrets?: boolean;
}

/** What a path segment may be: no `/`, no `..`, nothing hidden (Kubernetes names always are). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A {@link Sink} that writes objects to a folder, one YAML file per object at
 * `objects/<namespace or _cluster>/<Kind>[.<group>]/<name>.yaml`, and each reconciler's
 * inventory as JSON at `inventories/<owner>.json`: the "rendered manifests" a review, another
 * tool or a Git commit picks up.
 *
 * It keeps the contract the runtime relies on (see `sinkConformance`): an object's
 * `resourceVersion` is the digest of its file, so an unchanged object keeps it and a hand edit
 * changes it; an apply carrying `metadata.resourceVersion` is refused if the file changed since
 * (`CONFLICT`, or `OWNERSHIP_CONFLICT` when `owner` is given and another owner holds it);
 * deletes keep objects marked `converge.dev/prune: disabled` or owned by another reconciler;
 * dry runs write nothing; one object's failure (a name that would leave the folder, a refused
 * Secret, a full disk) is that object's result. Files are replaced atomically (written aside,
 * then renamed), and calls in one process are serialized; one process writes a folder.
 *
 * @example
 * ```ts
 * const r = createReconciler({ name: 'shop', source, render: yamlFiles(), sink: directorySink({ dir: './rendered' }), prune: true });
 * ```
 */
export function directorySink(options: DirectorySinkOptions): Sink {
  const root = resolve(options.dir);
  const allowSecrets = options.allowSecrets ?? false;
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs writes one at a time, so a precondition read is still true when the file is written. */
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  /** Runs `one` on each item in order, one call at a time, reporting each result as it comes. */
  function inOrder<I, R>(items: readonly I[], call: { signal?: AbortSignal; onResult?: (result: R) => void }, one: (item: I) => Promise<R>): Promise<R[]> {
    return serialized(async () => {
      const results: R[] = [];
      for (const item of items) {
        call.signal?.throwIfAborted();
        const result = await one(item);
        call.onResult?.(result);
        results.push(result);
      }
      return results;
    });
  }

  /** The file of `ref`, or why it cannot have one (a name that would leave the folder). */
  function fileOf(ref: ObjectRef): { path: string } | { problem: string } {
    const kind = ref.group === '' ? ref.kind : `${ref.kind}.${ref.group}`;
    const bad = [ref.namespace ?? 'cluster-scoped', kind, ref.name].find((segment) => !SEGMENT.test(segment));
    if (bad !== undefined) return { problem: `${JSON.stringify(bad)} cannot be a file name` };
    return { path: join(root, 'objects', ref.namespace ?? '_cluster', kind, `${ref.name}.yaml`) };
  }

  async function read(path: string): Promise<KubeObject | undefined> {
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    return text === undefined ? undefined : withVersion(parse(text) as KubeObject, text);
  }

  async function applyOne(desired: KubeObject, options: ApplyOptions): Promise<ApplyResult> {
    const ref = refOf(desired);
    const file = fileOf(ref);
    if ('problem' in file) return { ref, ok: false, error: new SinkError('INVALID_NAME', `${formatRef(ref)}: ${file.problem}; nothing was written`, { data: { ref } }) };
    if (isSecret(desired) && !allowSecrets) {
      return { ref, ok: false, error: new SinkError('SECRET_REFUSED', `${formatRef(ref)}: this sink does not write Secrets to disk; set allowSecrets, or deliver Secrets another way`, { data: { ref } }) };
    }
    const live = await read(file.path);
    const conflict = preconditionError(desired, live, options.owner);
    if (conflict) return { ref, ok: false, error: conflict };
    const { resourceVersion: _precondition, ...metadata } = desired.metadata;
    const text = stringify({ ...desired, metadata });
    if (!options.dryRun) {
      try {
        await writeAtomically(file.path, text);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
        return { ref, ok: false, error: new SinkError('WRITE_FAILED', `${formatRef(ref)}: cannot write its file (${code})`, { cause: error, data: { ref, retryable: true } }) };
      }
    }
    return { ref, ok: true, object: withVersion({ ...desired, metadata } as KubeObject, text) };
  }

  async function deleteOne(ref: ObjectRef, options: DeleteOptions): Promise<DeleteResult> {
    const file = fileOf(ref);
    // A name that cannot be a file was never written.
    if ('problem' in file) return { ref, ok: true, found: false };
    try {
      const live = await read(file.path);
      if (!live) return { ref, ok: true, found: false };
      if (isPruneDisabled(live)) return { ref, ok: true, found: true, skipped: 'prune-disabled' };
      if (options.owner !== undefined && ownerOf(live) !== options.owner) return { ref, ok: true, found: true, skipped: 'owned-by-other' };
      if (!options.dryRun) await rm(file.path);
      return { ref, ok: true, found: true };
    } catch (error) {
      // Unreadable is an error, never "not found": the runtime keeps it in the inventory.
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      return { ref, ok: false, error: new SinkError('DELETE_FAILED', `${formatRef(ref)}: cannot delete its file (${code})`, { cause: error, data: { ref, retryable: true } }) };
    }
  }

  const inventoryFile = (owner: string) => join(root, 'inventories', `${encodeURIComponent(owner)}.json`);

  const sink = {
    id: `dir:${root}`,

    async get(refs: readonly ObjectRef[], call: SinkCallOptions = {}): Promise<KubeObject[]> {
      const found: KubeObject[] = [];
      for (const ref of refs) {
        call.signal?.throwIfAborted();
        const file = fileOf(ref);
        const live = 'path' in file ? await read(file.path) : undefined;
        if (live) found.push(live);
      }
      return found;
    },

    apply(objects: readonly KubeObject[], call: ApplyOptions = {}): Promise<ApplyResult[]> {
      return inOrder(objects, call, (obj) => applyOne(obj, call));
    },

    delete(refs: readonly ObjectRef[], call: DeleteOptions = {}): Promise<DeleteResult[]> {
      return inOrder(refs, call, (ref) => deleteOne(ref, call));
    },

    async readInventory(owner: string, call: SinkCallOptions = {}): Promise<ObjectRef[] | undefined> {
      call.signal?.throwIfAborted();
      const text = await readFile(inventoryFile(owner), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      // decodeInventory rejects a record it cannot read at all with InventoryDamagedError.
      return text === undefined ? undefined : decodeInventory(text);
    },

    writeInventory(owner: string, refs: readonly ObjectRef[], call: SinkCallOptions = {}): Promise<void> {
      call.signal?.throwIfAborted();
      return serialized(() => writeAtomically(inventoryFile(owner), encodeInventory(refs)));
    },

    deleteInventory(owner: string, call: SinkCallOptions = {}): Promise<void> {
      call.signal?.throwIfAborted();
      return serialized(() => rm(inventoryFile(owner), { force: true }));
    },

    async findOwned(owner: string, call: SinkCallOptions = {}): Promise<ObjectRef[]> {
      const all = await listObjects(join(root, 'objects'), call.signal);
      return all.filter((obj) => ownerOf(obj) === owner).map(refOf);
    },

    async listNamespace(namespace: string, call: SinkCallOptions = {}): Promise<KubeObject[]> {
      if (!SEGMENT.test(namespace)) return [];
      return listObjects(join(root, 'objects', namespace), call.signal);
    },
  } satisfies Sink;
  return sink;

  async function listObjects(dir: string, signal: AbortSignal | undefined): Promise<KubeObject[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const objects: KubeObject[] = [];
    for (const entry of entries.filter((e) => e.isFile() && e.name.endsWith('.yaml'))) {
      signal?.throwIfAborted();
      const live = await read(join(entry.parentPath, entry.name));
      if (live) objects.push(live);
    }
    return objects;
  }
}

/**
 * The precondition of an apply, as `ApplyOptions` defines it: an object carrying a
 * `resourceVersion` must find that version; one without must find nothing. When it does not
 * hold, the apply goes ahead only if no other owner holds the object.
 */
function preconditionError(desired: KubeObject, live: KubeObject | undefined, owner: string | undefined): SinkError | OwnershipConflictError | undefined {
  const ref = refOf(desired);
  const expected = desired.metadata['resourceVersion'];
  const holds = expected === undefined ? live === undefined : live?.metadata['resourceVersion'] === expected;
  if (holds) return undefined;
  if (owner === undefined) {
    if (expected === undefined) return undefined; // a plain apply over what is there, like kubectl apply
    return new SinkError('CONFLICT', `${formatRef(ref)} changed since it was read; plan again`, { data: { ref, retryable: true } });
  }
  const holder = live && ownerOf(live);
  if (holder === undefined || holder === owner) return undefined;
  return new OwnershipConflictError(`${formatRef(ref)} is owned by reconciler "${holder}", not "${owner}"; set adopt to take it over`, {
    ref,
    conflicts: [{ ref, owner: holder }],
  });
}

/** `obj` with the digest of its file as `metadata.resourceVersion`. */
function withVersion(obj: KubeObject, text: string): KubeObject {
  const resourceVersion = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return { ...obj, metadata: { ...obj.metadata, resourceVersion } };
}

/** Writes a file so that readers see the old content or the new, never half of it. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const aside = `${path}.${process.pid}.tmp`;
  await writeFile(aside, text);
  await rename(aside, path);
}
