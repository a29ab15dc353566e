import { sleep } from '@converge/core';
import type { Clock, ConvergeError, KubeObject, TimerHandle } from '@converge/core';
import type { ResourceMapping } from '../discovery.js';
import type { KubeTransport } from '../transport.js';
import { KubeHttpError } from '../errors.js';
import { withTypeMeta } from '../get.js';
import { resourceName, resourcePath } from '../resource-path.js';
import { mapLimit } from './limit.js';
import { listAndWatch } from './list-and-watch.js';
import type { WatchEventType } from './list-and-watch.js';
import { toKubeError } from './to-kube-error.js';
import { watchBackoff } from './watch-backoff.js';

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
  /**
   * The object, for one that a listener follows or a reader offered; `undefined` for the rest
   * of the collection, of which only the name and versions are kept (see {@link Informer}).
   */
  object: KubeObject | undefined;
  /** The last few resourceVersions this informer saw for the object, newest last. */
  versions: string[];
}

/** What an {@link Informer} watches, and how. */
export interface InformerOptions {
  transport: KubeTransport;
  mapping: ResourceMapping;
  /** `undefined` watches a namespaced kind in all namespaces. */
  namespace: string | undefined;
  clock: Clock;
  random: () => number;
  watchTimeoutSeconds?: number | undefined;
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
 * How long a claim keeps an object's content that nobody follows: a sink claims what it reads
 * and writes in a pass, and follows what it wrote when the pass ends; a key nobody follows any
 * more is claimed too, for a sink that follows a new set of objects.
 */
const CLAIM_MS = 60_000;

/** Concurrent GETs for the content of newly followed objects the store knew only by name. */
const FILL_CONCURRENCY = 4;

/**
 * One list-and-watch of one collection (a kind, in one namespace or all), its store, and the
 * listeners it routes changes to by object key: the shared informer of client-go, for the
 * objects Converge manages.
 *
 * A collection watched across the cluster holds everybody's objects (every Secret, when an app
 * manages one), so the store keeps the content only of the objects a listener follows or a
 * sink {@link Informer.claim | claimed} in the last minute (is about to read or write, or
 * stopped following); of the others it keeps the name and resourceVersion, enough to answer
 * "absent" without a request. A read of such an object is a miss; a sink's read from the server
 * {@link Informer.offer | offers} what it got, and an object followed while the store knows only
 * its name is fetched (`synced` follows).
 */
export class Informer {
  readonly #store = new Map<string, Entry>();
  readonly #byKey = new Map<string, Set<InformerListener>>();
  readonly #listeners = new Map<InformerListener, readonly string[]>();
  /**
   * Keys a sink is about to read or write, with when the claim ends (in that order): their
   * content is kept although nobody follows them yet.
   */
  readonly #claimed = new Map<string, number>();
  /** The timer that ends the oldest claim. */
  #claimTimer: TimerHandle | undefined;
  readonly #abort = new AbortController();
  readonly #o: InformerOptions;
  #listSequence = 0;
  #synced = false;
  #watching = false;
  #held = 0;

  constructor(o: InformerOptions) {
    this.#o = o;
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

  /** How many objects the store knows of. */
  get size(): number {
    return this.#store.size;
  }

  /** How many of them it holds the content of. */
  get held(): number {
    return this.#held;
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
    if (!this.#synced) return;
    const unknown: string[] = [];
    for (const key of keys) {
      const entry = this.#store.get(key);
      if (entry && !entry.object) unknown.push(key);
      else listener.synced(key, entry?.object);
    }
    if (unknown.length > 0) void this.#fill(unknown);
  }

  /**
   * Gives the store the content of an object read from the server (a sink's read, or the
   * cache's own fetch): taken for `key`, kept but known only by name, if it is the version the
   * store knows as the newest; returns what it stored. A read that raced the watch is not taken
   * either way: older than a change the watch brought meanwhile, it would put an older object
   * back; newer than the watch has caught up with, it would vouch for its version while the
   * older events still to come replace the content.
   */
  offer(key: string, obj: KubeObject): KubeObject | undefined {
    const entry = this.#store.get(key);
    const rv = obj.metadata.resourceVersion;
    if (!entry || entry.object || !this.#keeps(key) || rv === undefined || entry.versions.at(-1) !== rv) return undefined;
    const object = stored(obj);
    this.#set(key, { object, versions: entry.versions });
    return object;
  }

  /**
   * Stops following. The content of objects nobody follows any more is kept under a
   * {@link Informer.claim | claim}, and let go when it ends: a sink that follows a new set of
   * objects leaves the old set first, and would otherwise have every object it still follows
   * fetched again. The caller stops the informer when no listener is left.
   */
  remove(listener: InformerListener): void {
    for (const key of this.#listeners.get(listener) ?? []) {
      const set = this.#byKey.get(key);
      set?.delete(listener);
      if (set?.size !== 0) continue;
      this.#byKey.delete(key);
      if (this.#store.get(key)?.object) this.claim(key);
    }
    this.#listeners.delete(listener);
  }

  /**
   * Keeps the content of `key` from the next change on, though nobody follows it yet: a sink
   * says so before it writes or reads the object, so the watch event of its write (which may
   * come before the answer) already brings the content. The claim ends {@link CLAIM_MS} later
   * (a new claim renews it); then the content is let go unless somebody follows the object, so
   * what a sink read and never followed (another team's Secret) is not kept for good.
   */
  claim(key: string): void {
    const { clock } = this.#o;
    this.#claimed.delete(key);
    this.#claimed.set(key, clock.now() + CLAIM_MS);
    this.#claimTimer ??= clock.setTimeout(() => this.#endClaims(), CLAIM_MS);
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
    if (entry && !entry.object) return { hit: false };
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
    this.#claimed.clear();
    if (this.#claimTimer) this.#o.clock.clearTimeout(this.#claimTimer);
    this.#claimTimer = undefined;
    this.#held = 0;
  }


  /** Ends the claims that ran out, oldest first (letting go of the content nobody follows), and sets the timer for the next one. */
  #endClaims(): void {
    const { clock } = this.#o;
    this.#claimTimer = undefined;
    for (const [key, until] of this.#claimed) {
      const left = until - clock.now();
      if (left > 0) {
        this.#claimTimer = clock.setTimeout(() => this.#endClaims(), left);
        return;
      }
      this.#claimed.delete(key);
      const entry = this.#store.get(key);
      if (entry?.object && !this.#byKey.has(key)) this.#set(key, { object: undefined, versions: entry.versions });
    }
  }

  /** Whether the content of `key` is kept: it is followed or claimed. */
  #keeps(key: string): boolean {
    return this.#byKey.has(key) || this.#claimed.has(key);
  }

  /** Stores an entry, counting the content held. */
  #set(key: string, entry: Entry): void {
    const before = this.#store.get(key);
    if (before?.object) this.#held--;
    if (entry.object) this.#held++;
    this.#store.set(key, entry);
  }

  #delete(key: string): void {
    if (this.#store.get(key)?.object) this.#held--;
    this.#store.delete(key);
  }

  #replace(items: KubeObject[], listSequence: number): void {
    this.#store.clear();
    this.#held = 0;
    for (const item of items) {
      const key = objectKey(item.metadata.namespace, item.metadata.name);
      const rv = item.metadata.resourceVersion;
      this.#set(key, { object: this.#keeps(key) ? stored(item) : undefined, versions: typeof rv === 'string' ? [rv] : [] });
    }
    this.#listSequence = listSequence;
    this.#synced = true;
    for (const [listener, keys] of this.#listeners) for (const key of keys) listener.synced(key, this.#store.get(key)?.object);
  }

  #apply(type: WatchEventType, obj: KubeObject): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const listeners = this.#byKey.get(key);
    const before = this.#store.get(key);
    const object = this.#keeps(key) ? stored(obj) : undefined;
    if (type === 'DELETED') {
      this.#delete(key);
      this.#claimed.delete(key);
    } else {
      const versions = before?.versions ?? [];
      const rv = obj.metadata.resourceVersion;
      if (typeof rv === 'string') versions.push(rv);
      if (versions.length > VERSIONS_KEPT) versions.shift();
      this.#set(key, { object, versions });
    }
    if (object) for (const listener of listeners ?? []) listener.event(key, type, object);
  }

  /**
   * Fetches the content of followed objects the store knew only by name, then tells their
   * listeners (`synced`). A watch event that came meanwhile already brought the content and
   * wins; an answer of another version than the store's newest is not taken (see
   * {@link Informer.offer}): the watch events still to come bring the content, or a later
   * follow fetches again.
   */
  async #fill(keys: readonly string[]): Promise<void> {
    await mapLimit(keys, FILL_CONCURRENCY, (key) => this.#fetch(key));
  }

  /**
   * Fetches one object for {@link Informer.#fill}. A failure is reported and retried with
   * backoff for as long as the object is followed and its content is not held: it may have
   * changed while nobody followed it, and that drift shows only in what the fetch brings.
   */
  async #fetch(key: string): Promise<void> {
    const { transport, mapping, clock, random } = this.#o;
    const slash = key.indexOf('/');
    const [ns, name] = mapping.namespaced ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
    const backoff = watchBackoff(random);
    for (let failures = 1; this.#unfilled(key); failures++) {
      let obj: KubeObject;
      try {
        obj = await transport.request<KubeObject>({ method: 'GET', path: resourcePath(mapping, ns, name), signal: this.#abort.signal });
      } catch (err) {
        if (this.#abort.signal.aborted || (err instanceof KubeHttpError && err.status === 404)) return; // gone: its DELETED event follows
        const error = toKubeError(err, { verb: 'get', resource: resourceName(mapping), secret: mapping.kind === 'Secret' && mapping.group === '' });
        for (const listener of this.#byKey.get(key) ?? []) listener.error(error);
        await sleep(clock, backoff.delay(failures), this.#abort.signal).catch(() => undefined);
        continue;
      }
      const object = this.offer(key, withTypeMeta(obj, mapping));
      if (object) for (const listener of this.#byKey.get(key) ?? []) listener.synced(key, object);
      return;
    }
  }

  /** Whether `key` is followed and known, but only by name. */
  #unfilled(key: string): boolean {
    const entry = this.#store.get(key);
    return entry !== undefined && entry.object === undefined && this.#byKey.has(key);
  }
}
