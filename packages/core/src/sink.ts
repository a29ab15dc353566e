import type { ConvergeError } from './errors.js';
import type { GroupVersionKind, KubeObject, ObjectRef } from './object.js';

/** Options shared by sink calls. */
export interface SinkCallOptions {
  signal?: AbortSignal;
}

/**
 * Options for {@link SinkWriter.apply}.
 *
 * Preconditions travel in the objects, as Kubernetes does it: an object carrying
 * `metadata.resourceVersion` is applied only if the live object still has that version (it
 * was planned against it); one without is expected to be new. When `owner` is given and such
 * a precondition no longer holds, the sink re-reads the object and applies it only if it is
 * not annotated (`converge.dev/owner`) with another owner; otherwise that object's result
 * is an `OWNERSHIP_CONFLICT` error. Two reconcilers racing for one object thus end with
 * exactly one owner, and the other learns it in the same pass.
 */
export interface ApplyOptions extends SinkCallOptions {
  /** Validate and compute the result on the server without persisting anything. */
  dryRun?: boolean;
  /**
   * Take over fields another field manager owns (a hand edit being reverted) instead of
   * failing with a conflict. Sinks without field ownership ignore it. @default the sink's own setting
   */
  force?: boolean;
  /** Called as each object finishes, so long applies can show progress. */
  onResult?: (result: ApplyResult) => void;
  /**
   * The reconciler applying. Sinks with field ownership apply under a field manager of this
   * owner's own, and claim objects atomically (see above).
   */
  owner?: string;
}

/** Options for {@link SinkWriter.delete}. */
export interface DeleteOptions extends SinkCallOptions {
  dryRun?: boolean;
  /** Called as each object finishes. */
  onResult?: (result: DeleteResult) => void;
  /**
   * The reconciler pruning. The sink re-reads each object just before deleting it, deletes it
   * only if it is annotated with this owner (`converge.dev/owner`) and keeps it otherwise
   * (`skipped: 'owned-by-other'`: another reconciler's, or one made by hand under a recorded
   * name), and deletes only the version it read, so an object claimed meanwhile survives.
   */
  owner?: string;
}

/** The outcome of applying one object: the object as stored, or the error. */
export type ApplyResult =
  | { ref: ObjectRef; ok: true; object: KubeObject }
  | { ref: ObjectRef; ok: false; error: ConvergeError };

/**
 * The outcome of deleting one object. `ok` with `found: false` means it was already gone (the
 * sink saw it absent: unreadable is an error, never `found: false`); `skipped` says it
 * exists and was kept on purpose.
 */
export type DeleteResult =
  | { ref: ObjectRef; ok: true; found: boolean; skipped?: 'prune-disabled' | 'owned-by-other' }
  | { ref: ObjectRef; ok: false; error: ConvergeError };

/** A change seen on a watched object, outside of this reconciler's own writes. */
export interface DriftEvent {
  ref: ObjectRef;
  type: 'modified' | 'deleted';
}

/** Reads live state and inventories. */
export interface SinkReader {
  /** The live objects among `refs`; objects that do not exist are left out. */
  get(refs: readonly ObjectRef[], options?: SinkCallOptions): Promise<KubeObject[]>;
  /**
   * The refs last recorded for reconciler `owner`, or `undefined` if it never recorded any.
   * A damaged entry is not an error: entries that cannot be parsed come back as refs that
   * fail `refProblem` (see `decodeInventory`), so the runtime reports and drops them; a record
   * that cannot be read at all rejects with `InventoryDamagedError`.
   */
  readInventory(owner: string, options?: SinkCallOptions): Promise<ObjectRef[] | undefined>;
  /**
   * Optional: every object of a kind, in all namespaces. The runtime uses it before it deletes
   * a CustomResourceDefinition (which deletes all its custom resources); without it, CRDs are
   * only deleted when opted in (see `NAMESPACE_DELETE_ANNOTATION`).
   */
  listKind?(kind: { group: string; kind: string }, options?: SinkCallOptions): Promise<KubeObject[]>;
  /**
   * Optional: refs of every object annotated `converge.dev/owner: owner`, across every kind the
   * sink can list. The runtime rebuilds an inventory that cannot be read from it (what carries
   * the owner's name is proven to be the owner's); without it such a pass fails.
   */
  findOwned?(owner: string, options?: SinkCallOptions): Promise<ObjectRef[]>;
  /**
   * Optional: whether a ref names one of the sink's own records (an inventory). Desired objects
   * may not name one, and the runtime never deletes one.
   */
  isReserved?(ref: ObjectRef): boolean;
  /**
   * Optional: every object in `namespace`, of every kind the sink can list there. Rejects if
   * some kind cannot be listed, because then the namespace cannot be proven free of objects
   * that are not ours. The runtime uses it before it deletes a Namespace; without it,
   * Namespaces are only deleted when opted in (see `NAMESPACE_DELETE_ANNOTATION`).
   */
  listNamespace?(namespace: string, options?: SinkCallOptions): Promise<KubeObject[]>;
  /**
   * Optional: whether objects of a kind live in a namespace, from the server's discovery, or
   * `undefined` when the kind is not served. With it the runtime gives a namespaced object
   * that names no namespace the default one, and rejects a cluster-scoped object that names
   * one, so the identity it plans is the identity the server stores.
   */
  scopeOf?(kind: GroupVersionKind, options?: SinkCallOptions): Promise<'Namespaced' | 'Cluster' | undefined>;
}

/** Writes objects and inventories. */
export interface SinkWriter {
  /**
   * Applies objects, given in apply order, and resolves with one result per object (never
   * rejects for a per-object failure). A sink may apply independent objects concurrently but
   * must keep Namespaces and CRDs before the objects that need them.
   */
  apply(objects: readonly KubeObject[], options?: ApplyOptions): Promise<ApplyResult[]>;
  /** Deletes objects, given in delete order; one result per ref. */
  delete(refs: readonly ObjectRef[], options?: DeleteOptions): Promise<DeleteResult[]>;
  /** Records the refs reconciler `owner` manages, replacing what was recorded before. */
  writeInventory(owner: string, refs: readonly ObjectRef[], options?: SinkCallOptions): Promise<void>;
  /**
   * Optional: forgets reconciler `owner` entirely (its inventory record is removed; deleting one
   * that does not exist is not an error). A fleet calls it after tearing down a removed
   * application, so short-lived environments leave no record behind. Sinks without it keep an
   * empty inventory instead.
   */
  deleteInventory?(owner: string, options?: SinkCallOptions): Promise<void>;
}

/**
 * Where desired state is applied: a Kubernetes cluster (`kubeSink`), memory (`MemorySink`),
 * or anything a plugin adds.
 */
export interface Sink extends SinkReader, SinkWriter {
  /** A stable identifier for logs and status, e.g. the cluster's server URL. */
  readonly id: string;
  /**
   * Optional: the namespace a namespaced object goes into when it names none and its renderer
   * recorded no default (as `kubectl` uses its context's). @default 'default'
   */
  readonly defaultNamespace?: string;
  /**
   * Optional: watch `refs` and call `onDrift` when one is changed or deleted by someone else.
   * Returns a function that stops watching.
   */
  watch?(refs: readonly ObjectRef[], onDrift: (event: DriftEvent) => void): () => void;
}
