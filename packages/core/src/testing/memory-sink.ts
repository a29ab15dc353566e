import { ConvergeError, OwnershipConflictError, SinkError } from '../errors.js';
import { isPruneDisabled, ownerOf } from '../annotations.js';
import { normalize } from '../normalize.js';
import { formatRef, parseApiVersion, refKey, refOf, type GroupVersionKind, type KubeObject, type ObjectRef } from '../object.js';
import { isClusterScoped } from '../transforms/cluster-scoped-kinds.js';
import type {
  ApplyOptions,
  ApplyResult,
  DeleteOptions,
  DeleteResult,
  DriftEvent,
  Sink,
  SinkCallOptions,
} from '../sink.js';

/** The sink operations {@link MemorySink} records and can be told to fail. */
export type MemorySinkOperation = 'get' | 'readInventory' | 'apply' | 'delete' | 'writeInventory' | 'deleteInventory';

/** One recorded call, for assertions such as "a no-op pass makes no writes". */
export interface MemorySinkCall {
  op: MemorySinkOperation;
  refs: ObjectRef[];
  dryRun: boolean;
  /** For `apply`: whether the caller asked to take over conflicting fields. */
  force?: boolean;
}

/** A fault to inject: fail `op` (for `ref` only, if given) `times` times with `error`. */
export interface MemorySinkFault {
  op: MemorySinkOperation;
  ref?: ObjectRef;
  /** @default 1 */
  times?: number;
  /** @default a retryable `SinkError` with code `SIMULATED_FAULT` */
  error?: ConvergeError;
}

/** Options of {@link MemorySink}. */
export interface MemorySinkOptions {
  /** @default 'memory' */
  id?: string;
  /** Objects that exist before the first pass. */
  objects?: readonly KubeObject[];
  /** The namespace for namespaced objects that name none. @default 'default' */
  defaultNamespace?: string;
}

/**
 * An in-memory {@link Sink} for unit tests and demos. It behaves like an API server where it
 * claims to: applying an object that does not change it keeps its `resourceVersion`;
 * a real change bumps `resourceVersion`, and `generation` when anything outside metadata
 * and status changed; `uid` and `creationTimestamp` are set on create; `status` is kept.
 * Like `kubeSink`, it honours the preconditions of `ApplyOptions` (`metadata.resourceVersion`,
 * ownership claimed by `owner`), keeps objects marked `converge.dev/prune: disabled` or
 * owned by another reconciler when deleting, tells namespaced kinds from cluster-scoped ones
 * (built-in kinds, and CRDs it stores) and lists a namespace's contents.
 *
 * @example
 * ```ts
 * const sink = new MemorySink();
 * await createReconciler({ name: 'demo', source, render: yamlFiles(), sink }).reconcile();
 * sink.objects(); // what was applied
 * sink.set({ ...obj, data: { drifted: 'yes' } }); // simulate someone editing the cluster
 * ```
 */
export class MemorySink implements Sink {
  readonly id: string;
  readonly defaultNamespace: string;
  /** Every call made, in order. */
  readonly calls: MemorySinkCall[] = [];
  readonly #objects = new Map<string, KubeObject>();
  readonly #inventories = new Map<string, ObjectRef[]>();
  readonly #watchers = new Set<{ keys: Set<string>; onDrift: (e: DriftEvent) => void }>();
  #faults: { op: MemorySinkOperation; times: number; error: ConvergeError; ref?: ObjectRef }[] = [];
  #version = 0;
  #uid = 0;

  constructor(options: MemorySinkOptions = {}) {
    this.id = options.id ?? 'memory';
    this.defaultNamespace = options.defaultNamespace ?? 'default';
    for (const obj of options.objects ?? []) this.#store(obj);
  }

  /** Copies of all stored objects, sorted by ref key. */
  objects(): KubeObject[] {
    return [...this.#objects.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, obj]) => structuredClone(obj));
  }

  /** A copy of one stored object, or `undefined`. */
  getObject(ref: ObjectRef): KubeObject | undefined {
    const obj = this.#objects.get(refKey(ref));
    return obj && structuredClone(obj);
  }

  /** Writes an object as someone else would (e.g. `kubectl edit`), and tells watchers: simulates drift. */
  set(obj: KubeObject): void {
    this.#store(obj);
    this.#notify({ ref: refOf(obj), type: 'modified' });
  }

  /** Deletes an object as someone else would, and tells watchers. */
  remove(ref: ObjectRef): void {
    if (this.#objects.delete(refKey(ref))) this.#notify({ ref, type: 'deleted' });
  }

  /** Makes future calls fail. Faults are used up in the order they were added. */
  fail(fault: MemorySinkFault): void {
    this.#faults.push({
      op: fault.op,
      times: fault.times ?? 1,
      error: fault.error ?? new SinkError('SIMULATED_FAULT', `simulated ${fault.op} failure`, { data: { retryable: true } }),
      ...(fault.ref && { ref: fault.ref }),
    });
  }

  /** The number of recorded calls that would have changed state (non-dry-run apply, delete, writeInventory, deleteInventory). */
  get writes(): number {
    return this.calls.filter((c) => !c.dryRun && (c.op === 'apply' || c.op === 'delete' || c.op === 'writeInventory' || c.op === 'deleteInventory')).length;
  }

  async get(refs: readonly ObjectRef[], _options?: SinkCallOptions): Promise<KubeObject[]> {
    this.#record('get', refs);
    this.#throwIfFaulted('get');
    return refs.flatMap((ref) => {
      const obj = this.#objects.get(refKey(ref));
      return obj ? [structuredClone(obj)] : [];
    });
  }

  async readInventory(owner: string, _options?: SinkCallOptions): Promise<ObjectRef[] | undefined> {
    this.#record('readInventory', []);
    this.#throwIfFaulted('readInventory');
    const refs = this.#inventories.get(owner);
    return refs && structuredClone(refs);
  }

  async writeInventory(owner: string, refs: readonly ObjectRef[], options?: SinkCallOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    this.#record('writeInventory', refs);
    this.#throwIfFaulted('writeInventory');
    this.#inventories.set(owner, structuredClone([...refs]));
  }

  async deleteInventory(owner: string, _options?: SinkCallOptions): Promise<void> {
    this.#record('deleteInventory', []);
    this.#throwIfFaulted('deleteInventory');
    this.#inventories.delete(owner);
  }

  async apply(objects: readonly KubeObject[], options: ApplyOptions = {}): Promise<ApplyResult[]> {
    // Like a real API client: an aborted call sends nothing.
    options.signal?.throwIfAborted();
    this.#record('apply', objects.map(refOf), options.dryRun, options.force);
    return objects.map((desired) => {
      const ref = refOf(desired);
      const error = this.#takeFault('apply', ref) ?? this.#preconditionError(desired, options.owner);
      const { resourceVersion: _precondition, ...metadata } = desired.metadata;
      const object = { ...desired, metadata } as KubeObject;
      const result: ApplyResult = error
        ? { ref, ok: false, error }
        : { ref, ok: true, object: options.dryRun ? this.#merged(object) : this.#store(object) };
      options.onResult?.(result);
      return result;
    });
  }

  async delete(refs: readonly ObjectRef[], options: DeleteOptions = {}): Promise<DeleteResult[]> {
    options.signal?.throwIfAborted();
    this.#record('delete', refs, options.dryRun);
    return refs.map((ref) => {
      const fault = this.#takeFault('delete', ref);
      const live = this.#objects.get(refKey(ref));
      const owner = live && ownerOf(live);
      const skipped = !live ? undefined : isPruneDisabled(live) ? 'prune-disabled' : options.owner !== undefined && owner !== options.owner ? 'owned-by-other' : undefined;
      const result: DeleteResult = fault
        ? { ref, ok: false, error: fault }
        : { ref, ok: true, found: live !== undefined, ...(skipped && { skipped }) };
      if (!fault && !skipped && !options.dryRun) this.#objects.delete(refKey(ref));
      options.onResult?.(result);
      return result;
    });
  }

  async listNamespace(namespace: string, _options?: SinkCallOptions): Promise<KubeObject[]> {
    this.#record('get', []);
    this.#throwIfFaulted('get');
    return [...this.#objects.values()].filter((obj) => obj.metadata.namespace === namespace).map((obj) => structuredClone(obj));
  }

  async findOwned(owner: string, _options?: SinkCallOptions): Promise<ObjectRef[]> {
    this.#record('get', []);
    this.#throwIfFaulted('get');
    return [...this.#objects.values()].filter((obj) => ownerOf(obj) === owner).map(refOf);
  }

  async listKind(kind: { group: string; kind: string }, _options?: SinkCallOptions): Promise<KubeObject[]> {
    this.#record('get', []);
    this.#throwIfFaulted('get');
    return [...this.#objects.values()].filter((obj) => obj.kind === kind.kind && parseApiVersion(obj.apiVersion).group === kind.group).map((obj) => structuredClone(obj));
  }

  async scopeOf(kind: GroupVersionKind, _options?: SinkCallOptions): Promise<'Namespaced' | 'Cluster'> {
    const crdScoped = [...this.#objects.values()].some((obj) => {
      if (obj.kind !== 'CustomResourceDefinition' || parseApiVersion(obj.apiVersion).group !== 'apiextensions.k8s.io') return false;
      const spec = obj['spec'] as { group?: unknown; scope?: unknown; names?: { kind?: unknown } } | undefined;
      return spec?.group === kind.group && spec.names?.kind === kind.kind && spec.scope === 'Cluster';
    });
    return crdScoped || isClusterScoped(kind) ? 'Cluster' : 'Namespaced';
  }

  /**
   * Checks an apply's preconditions as kubeSink does: a stale `resourceVersion`, or an object
   * expected to be new that exists, is only taken if no other owner holds it.
   */
  #preconditionError(desired: KubeObject, owner: string | undefined): ConvergeError | undefined {
    const ref = refOf(desired);
    const live = this.#objects.get(refKey(ref));
    const expected = desired.metadata['resourceVersion'];
    const holds = expected === undefined ? live === undefined : live?.metadata['resourceVersion'] === expected;
    if (holds) return undefined;
    if (owner === undefined) {
      if (expected === undefined) return undefined;
      return new SinkError('CONFLICT', `${formatRef(ref)} changed since it was read (resourceVersion ${String(expected)}); try again`, { data: { ref, retryable: true } });
    }
    const holder = live && ownerOf(live);
    if (holder === undefined || holder === owner) return undefined;
    return new OwnershipConflictError(`${formatRef(ref)} was claimed by reconciler "${holder}" while "${owner}" was applying it; set adopt to take it over`, {
      ref,
      conflicts: [{ ref, owner: holder }],
    });
  }

  watch(refs: readonly ObjectRef[], onDrift: (event: DriftEvent) => void): () => void {
    const watcher = { keys: new Set(refs.map(refKey)), onDrift };
    this.#watchers.add(watcher);
    return () => void this.#watchers.delete(watcher);
  }

  /** Whether the prune-disabled annotation protects a stored object. */
  isProtected(ref: ObjectRef): boolean {
    const obj = this.#objects.get(refKey(ref));
    return obj !== undefined && isPruneDisabled(obj);
  }

  #merged(desired: KubeObject): KubeObject {
    const current = this.#objects.get(refKey(refOf(desired)));
    const next = structuredClone(desired);
    if (!current) {
      next.metadata = { ...next.metadata, uid: `memory-${++this.#uid}`, creationTimestamp: new Date(0).toISOString(), generation: 1, resourceVersion: String(++this.#version) };
      return next;
    }
    if (current['status'] !== undefined) next['status'] = current['status'];
    const { uid, creationTimestamp, generation, resourceVersion } = current.metadata;
    const specChanged = JSON.stringify(withoutMetadata(normalize(current))) !== JSON.stringify(withoutMetadata(normalize(next)));
    const anyChanged = specChanged || JSON.stringify(normalize(current)) !== JSON.stringify(normalize(next));
    next.metadata = {
      ...next.metadata,
      uid,
      creationTimestamp,
      generation: specChanged ? (generation as number) + 1 : generation,
      resourceVersion: anyChanged ? String(this.#version + 1) : resourceVersion,
    };
    return next;
  }

  #store(desired: KubeObject): KubeObject {
    const next = this.#merged(desired);
    if (Number(next.metadata.resourceVersion) > this.#version) this.#version = Number(next.metadata.resourceVersion);
    this.#objects.set(refKey(refOf(next)), next);
    return structuredClone(next);
  }

  #notify(event: DriftEvent): void {
    for (const w of this.#watchers) if (w.keys.has(refKey(event.ref))) w.onDrift(event);
  }

  #record(op: MemorySinkOperation, refs: readonly ObjectRef[], dryRun = false, force?: boolean): void {
    this.calls.push({ op, refs: [...refs], dryRun, ...(force !== undefined && { force }) });
  }

  #throwIfFaulted(op: MemorySinkOperation): void {
    const error = this.#takeFault(op);
    if (error) throw error;
  }

  #takeFault(op: MemorySinkOperation, ref?: ObjectRef): ConvergeError | undefined {
    const fault = this.#faults.find((f) => f.op === op && (!f.ref || (ref && refKey(f.ref) === refKey(ref))));
    if (!fault) return undefined;
    if (--fault.times <= 0) this.#faults = this.#faults.filter((f) => f !== fault);
    return fault.ref ? withRef(fault.error, fault.ref) : fault.error;
  }
}

function withoutMetadata(obj: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, ...rest } = obj;
  return rest;
}

function withRef(error: ConvergeError, ref: ObjectRef): ConvergeError {
  return error.data.ref ? error : new SinkError(error.code, `${formatRef(ref)}: ${error.message}`, { cause: error, data: { ...error.data, ref } });
}
