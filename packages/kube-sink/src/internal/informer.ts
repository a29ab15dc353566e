import type { Clock, ConvergeError, KubeObject } from '@converge/core';
import type { ResourceMapping } from '../discovery.js';
import type { KubeTransport } from '../transport.js';
import { listAndWatch } from './list-and-watch.js';
import type { WatchEventType } from './list-and-watch.js';

/** Someone following some objects of an informer, by {@link objectKey}. */
export interface InformerListener {
  /** After each complete LIST, once per followed key: the object, or `undefined` if absent. */
  synced(key: string, obj: KubeObject | undefined): void;
  /** A change to a followed object. */
  event(key: string, type: WatchEventType, obj: KubeObject): void;
  /** The LIST or watch failed (it is retried). */
  error(error: ConvergeError): void;
}

/** What a sink knows about an object that a cache may not have caught up with yet (see `OwnWrites.fence`). */
export interface ReadFence {
  /** The object's resourceVersion as the sink last learned it; `undefined`: the sink saw it absent (or deleted it). */
  resourceVersion: string | undefined;
  /** `nextSequence()` when the sink learned it. */
  sequence: number;
}

/** A read from a cache: `hit` with the object (or `undefined`: absent), or `miss`: ask the server. */
export type CacheRead = { hit: true; object: KubeObject | undefined } | { hit: false };

interface Entry {
  object: KubeObject;
  /** The last few resourceVersions this informer saw for the object, newest last. */
  versions: string[];
}

/** How many resourceVersions per object are kept to answer "has the cache seen this write?". */
const VERSIONS_KEPT = 8;

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function stored(obj: KubeObject): KubeObject {
  // Nothing reads managedFields from live objects; dropping them roughly halves a small object.
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * One list-and-watch of one collection (a kind, in one namespace or all), its store of the
 * objects it holds, and the listeners it routes changes to by object key: the shared informer
 * of client-go, for the objects Converge manages.
 */
export class Informer {
  readonly #store = new Map<string, Entry>();
  readonly #byKey = new Map<string, Set<InformerListener>>();
  readonly #listeners = new Map<InformerListener, readonly string[]>();
  readonly #abort = new AbortController();
  #listSequence = 0;
  #synced = false;
  #watching = false;

  constructor(o: { transport: KubeTransport; mapping: ResourceMapping; namespace: string | undefined; clock: Clock; random: () => number; watchTimeoutSeconds?: number | undefined }) {
    void listAndWatch({
      ...o,
      signal: this.#abort.signal,
      onList: (items, listSequence) => this.#replace(items, listSequence),
      onEvent: (type, obj) => this.#apply(type, obj),
      onWatching: (open) => (this.#watching = open),
      onError: (error) => {
        for (const listener of this.#listeners.keys()) listener.error(error);
      },
    });
  }

  /** Whether a watch request is open now. */
  get watching(): boolean {
    return this.#watching;
  }

  /** How many objects the store holds. */
  get size(): number {
    return this.#store.size;
  }

  /** How many listeners follow this informer. */
  get listeners(): number {
    return this.#listeners.size;
  }

  /** Follows `keys`; once synced, the listener gets their current state at once. */
  add(listener: InformerListener, keys: readonly string[]): void {
    this.#listeners.set(listener, keys);
    for (const key of keys) {
      let set = this.#byKey.get(key);
      if (!set) this.#byKey.set(key, (set = new Set()));
      set.add(listener);
    }
    if (this.#synced) for (const key of keys) listener.synced(key, this.#store.get(key)?.object);
  }

  /** Stops following; the caller stops the informer when no listener is left. */
  remove(listener: InformerListener): void {
    for (const key of this.#listeners.get(listener) ?? []) {
      const set = this.#byKey.get(key);
      set?.delete(listener);
      if (set?.size === 0) this.#byKey.delete(key);
    }
    this.#listeners.delete(listener);
  }

  /**
   * The object under `key` if the store can be trusted for it: the informer has listed and is
   * watching (so it is at most a watch delay behind), and it has {@link Informer.caughtUp | caught up}
   * with the reader's fence. Otherwise a miss.
   */
  read(key: string, fence: ReadFence | undefined): CacheRead {
    if (!this.#watching) return { hit: false };
    return this.#vouch(key, fence);
  }

  /**
   * Whether the store reflects what the `fence` says a reader knows of `key`: the reader's own
   * write, seen by its resourceVersion (or, for a delete, the object gone), or a LIST sent after
   * the reader learned it.
   */
  caughtUp(key: string, fence: ReadFence | undefined): boolean {
    return this.#vouch(key, fence).hit;
  }

  #vouch(key: string, fence: ReadFence | undefined): CacheRead {
    if (!this.#synced) return { hit: false };
    const entry = this.#store.get(key);
    if (!fence || fence.sequence < this.#listSequence) return { hit: true, object: entry?.object };
    if (fence.resourceVersion === undefined) return entry ? { hit: false } : { hit: true, object: undefined };
    return entry?.versions.includes(fence.resourceVersion) ? { hit: true, object: entry.object } : { hit: false };
  }

  /** Ends the watch. */
  stop(): void {
    this.#abort.abort();
    this.#listeners.clear();
    this.#byKey.clear();
    this.#store.clear();
  }

  #replace(items: KubeObject[], listSequence: number): void {
    this.#store.clear();
    for (const item of items) {
      const rv = item.metadata.resourceVersion;
      this.#store.set(objectKey(item.metadata.namespace, item.metadata.name), { object: stored(item), versions: typeof rv === 'string' ? [rv] : [] });
    }
    this.#listSequence = listSequence;
    this.#synced = true;
    for (const [listener, keys] of this.#listeners) for (const key of keys) listener.synced(key, this.#store.get(key)?.object);
  }

  #apply(type: WatchEventType, obj: KubeObject): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const object = stored(obj);
    if (type === 'DELETED') this.#store.delete(key);
    else {
      const versions = this.#store.get(key)?.versions ?? [];
      const rv = obj.metadata.resourceVersion;
      if (typeof rv === 'string') versions.push(rv);
      if (versions.length > VERSIONS_KEPT) versions.shift();
      this.#store.set(key, { object, versions });
    }
    for (const listener of this.#byKey.get(key) ?? []) listener.event(key, type, object);
  }
}
