import { sleep } from '@converge/core';
import type { Clock, ConvergeError, KubeObject, ObjectRef } from '@converge/core';
import { createDiscovery } from '../discovery.js';
import type { Discovery, ResourceMapping } from '../discovery.js';
import { KubeHttpError } from '../errors.js';
import { toKubeError } from './to-kube-error.js';
import { resourcePath } from '../resource-path.js';
import type { KubeTransport } from '../transport.js';
import { groupRefs } from './group-refs.js';
import { Informer, objectKey } from './informer.js';
import type { CacheRead, InformerListener, ReadFence } from './informer.js';
import type { WatchEventType } from './list-and-watch.js';
import { watchBackoff } from './watch-backoff.js';
import type { WatchCacheStats } from '../watch-cache.js';

/** Someone watching some objects, told about them by ref. */
export interface RefListener {
  /** After each complete LIST: the object, or `undefined` if absent. */
  synced(ref: ObjectRef, obj: KubeObject | undefined): void;
  /** A change to the object. */
  event(ref: ObjectRef, type: WatchEventType, obj: KubeObject): void;
  /** A watch of some of the objects failed (it is retried). */
  error(error: ConvergeError): void;
}

/** Options of {@link SharedInformers}. */
export interface SharedInformersOptions {
  transport: KubeTransport;
  clock: Clock;
  random: () => number;
  watchTimeoutSeconds?: number | undefined;
}

type Scope = 'cluster' | 'namespace';

interface Attachment {
  informer: Informer;
  key: string;
  adapter: InformerListener;
}

/**
 * One informer per collection for a whole process: a namespaced kind is watched across all
 * namespaces when the identity may list it there, else per namespace; cluster-scoped kinds
 * once. Subscriptions follow objects by ref; an informer starts with its first subscriber and
 * ends with its last, so watches grow with kinds (and namespaces, for a namespace-bound
 * identity), never with the number of subscribers.
 */
export class SharedInformers {
  readonly #o: SharedInformersOptions;
  readonly #discovery: Discovery;
  readonly #informers = new Map<string, Informer>();
  readonly #mappings = new Map<string, ResourceMapping>();
  readonly #scopes = new Map<string, Promise<Scope>>();
  #subscriptions = 0;

  constructor(options: SharedInformersOptions) {
    this.#o = options;
    this.#discovery = createDiscovery(options.transport);
  }

  /** Follows `refs` (namespaced ones without a namespace are in `defaultNamespace`); returns the unsubscribe function. */
  subscribe(refs: readonly ObjectRef[], defaultNamespace: string, listener: RefListener): () => void {
    const abort = new AbortController();
    const attached: Attachment[] = [];
    this.#subscriptions++;
    for (const group of groupRefs(refs)) void this.#attach(group, defaultNamespace, listener, abort.signal, attached);
    return () => {
      if (abort.signal.aborted) return;
      abort.abort();
      this.#subscriptions--;
      for (const { informer, key, adapter } of attached) {
        informer.remove(adapter);
        if (informer.listeners === 0) {
          informer.stop();
          this.#informers.delete(key);
        }
      }
    };
  }

  /** The live object from the cache, or a miss when the cache cannot vouch for it (see `Informer.read`). */
  read(ref: ObjectRef, defaultNamespace: string, fence: ReadFence | undefined): CacheRead {
    const found = this.#find(ref, defaultNamespace);
    return found ? found.informer.read(found.key, fence) : { hit: false };
  }

  /** Keeps the content of `ref` from its next change on, for a sink about to read or write it (see `Informer.claim`). */
  claim(ref: ObjectRef, defaultNamespace: string): void {
    const found = this.#find(ref, defaultNamespace);
    found?.informer.claim(found.key);
  }

  /** Hands the cache what a sink read of `ref` from the server (see `Informer.offer`). */
  offer(ref: ObjectRef, defaultNamespace: string, obj: KubeObject): void {
    const found = this.#find(ref, defaultNamespace);
    found?.informer.offer(found.key, obj);
  }

  /** Whether the cache reflects what `fence` says a sink knows of `ref` (see `Informer.caughtUp`). */
  caughtUp(ref: ObjectRef, defaultNamespace: string, fence: ReadFence | undefined): boolean {
    const found = this.#find(ref, defaultNamespace);
    return found ? found.informer.caughtUp(found.key, fence) : false;
  }

  #find(ref: ObjectRef, defaultNamespace: string): { informer: Informer; key: string } | undefined {
    const mapping = this.#mappings.get(`${ref.group}/${ref.kind}`);
    if (!mapping) return undefined;
    const namespace = mapping.namespaced ? (ref.namespace ?? defaultNamespace) : undefined;
    const informer = this.#informers.get(informerKey(mapping, undefined)) ?? (namespace ? this.#informers.get(informerKey(mapping, namespace)) : undefined);
    return informer && { informer, key: objectKey(namespace, ref.name) };
  }

  /** Current counts. */
  stats(): WatchCacheStats {
    let watches = 0;
    let objects = 0;
    let held = 0;
    for (const informer of this.#informers.values()) {
      if (informer.watching) watches++;
      objects += informer.size;
      held += informer.held;
    }
    return { watches, informers: this.#informers.size, objects, held, subscriptions: this.#subscriptions };
  }

  /** Ends every informer. */
  stop(): void {
    for (const informer of this.#informers.values()) informer.stop();
    this.#informers.clear();
  }

  async #attach(
    group: { group: string; kind: string; namespace: string | undefined; refs: ObjectRef[] },
    defaultNamespace: string,
    listener: RefListener,
    signal: AbortSignal,
    attached: Attachment[],
  ): Promise<void> {
    const backoff = watchBackoff(this.#o.random);
    for (let failures = 1; !signal.aborted; failures++) {
      try {
        const mapping = await this.#discovery.resolve({ group: group.group, kind: group.kind }, { signal });
        this.#mappings.set(`${group.group}/${group.kind}`, mapping);
        const namespace = mapping.namespaced ? (group.namespace ?? defaultNamespace) : undefined;
        const scope = namespace === undefined ? 'cluster' : await this.#scopeOf(mapping, signal);
        if (signal.aborted) return;
        const key = informerKey(mapping, scope === 'cluster' ? undefined : namespace);
        let informer = this.#informers.get(key);
        if (!informer) {
          informer = new Informer({ ...this.#o, mapping, namespace: scope === 'cluster' ? undefined : namespace });
          this.#informers.set(key, informer);
        }
        const byKey = new Map(group.refs.map((ref) => [objectKey(namespace, ref.name), ref]));
        const adapter = routeTo(listener, byKey);
        informer.add(adapter, [...byKey.keys()]);
        attached.push({ informer, key, adapter });
        return;
      } catch (err) {
        if (signal.aborted) return;
        listener.error(toKubeError(err, { verb: 'watch', resource: group.group ? `${group.kind}.${group.group}` : group.kind }));
        await sleep(this.#o.clock, backoff.delay(failures), signal).catch(() => undefined);
      }
    }
  }

  /** Whether this identity may list the kind in all namespaces (asked once per kind). */
  #scopeOf(mapping: ResourceMapping, signal: AbortSignal): Promise<Scope> {
    const key = informerKey(mapping, undefined);
    let scope = this.#scopes.get(key);
    if (!scope) {
      scope = this.#o.transport.request({ method: 'GET', path: resourcePath(mapping), query: { limit: 1 }, signal }).then(
        (): Scope => 'cluster',
        (err: unknown): Scope => {
          if (err instanceof KubeHttpError && err.status === 403) return 'namespace';
          this.#scopes.delete(key);
          throw err;
        },
      );
      this.#scopes.set(key, scope);
    }
    return scope;
  }
}

function informerKey(mapping: ResourceMapping, namespace: string | undefined): string {
  return `${mapping.group}/${mapping.version}/${mapping.resource}/${namespace ?? '*'}`;
}

/** Turns an informer's keys back into the subscriber's refs; a throwing subscriber cannot break the informer. */
function routeTo(listener: RefListener, byKey: Map<string, ObjectRef>): InformerListener {
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      process.emitWarning(`converge: a watch listener threw: ${String(error)}`);
    }
  };
  return {
    synced: (key, obj) => {
      const ref = byKey.get(key);
      if (ref) guard(() => listener.synced(ref, obj));
    },
    event: (key, type, obj) => {
      const ref = byKey.get(key);
      if (ref) guard(() => listener.event(ref, type, obj));
    },
    error: (error) => guard(() => listener.error(error)),
  };
}
