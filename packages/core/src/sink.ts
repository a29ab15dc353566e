import type { ConvergeError } from './errors.js';
import type { KubeObject, ObjectRef } from './object.js';

/** Options shared by sink calls. */
export interface SinkCallOptions {
  signal?: AbortSignal;
}

/** Options for {@link SinkWriter.apply}. */
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
}

/** Options for {@link SinkWriter.delete}. */
export interface DeleteOptions extends SinkCallOptions {
  dryRun?: boolean;
  /** Called as each object finishes. */
  onResult?: (result: DeleteResult) => void;
}

/** The outcome of applying one object: the object as stored, or the error. */
export type ApplyResult =
  | { ref: ObjectRef; ok: true; object: KubeObject }
  | { ref: ObjectRef; ok: false; error: ConvergeError };

/** The outcome of deleting one object. `ok` with `found: false` means it was already gone. */
export type DeleteResult =
  | { ref: ObjectRef; ok: true; found: boolean }
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
  /** The refs last recorded for reconciler `owner`, or `undefined` if it never recorded any. */
  readInventory(owner: string, options?: SinkCallOptions): Promise<ObjectRef[] | undefined>;
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
   * Optional: watch `refs` and call `onDrift` when one is changed or deleted by someone else.
   * Returns a function that stops watching.
   */
  watch?(refs: readonly ObjectRef[], onDrift: (event: DriftEvent) => void): () => void;
}
