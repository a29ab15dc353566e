import { systemClock } from '@converge/core';
import type { Clock } from '@converge/core';
import { KubeConfig } from '@kubernetes/client-node';
import { createTransport } from './transport.js';
import type { KubeRequestInfo, KubeTransport } from './transport.js';
import { SharedInformers } from './internal/shared-informers.js';
import { sharedRequestLimiter } from './request-limiter.js';
import type { RequestLimiter } from './request-limiter.js';

/** Options of {@link createWatchCache}: the connection (a KubeConfig, or a transport built on one) and tuning. */
export type WatchCacheOptions = ({ kubeConfig: KubeConfig; transport?: never } | { transport: KubeTransport; kubeConfig?: never }) & {
  /**
   * Time for reconnect delays and backoff.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Randomness for backoff jitter, in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /** Called after each request of the cache's own transport (LISTs, and each watch when it ends); with `kubeConfig` only. */
  onRequest?: (info: KubeRequestInfo) => void;
  /**
   * Caps the LISTs of the cache's own transport together with the sinks holding the same limiter; with `kubeConfig` only.
   * @default the process's limiter for the KubeConfig object ({@link sharedRequestLimiter})
   */
  requestLimiter?: RequestLimiter;
  /**
   * How long the API server keeps one watch request open before the cache reopens it from
   * the last resourceVersion.
   * @default 300
   */
  watchTimeoutSeconds?: number;
};

/** What a {@link WatchCache} holds now. */
export interface WatchCacheStats {
  /** Watch requests open on the API server now: one per kind (per namespace for a namespace-bound identity). */
  watches: number;
  /** Collections listed and watched, open or reconnecting. */
  informers: number;
  /** Objects the cache knows of: every object of the collections it watches, by name and resourceVersion. */
  objects: number;
  /** Objects whose content it holds: those a sink follows or is reading or writing; of the others it keeps only the name and version. */
  held: number;
  /** Subscriptions: one per watching reconciler. */
  subscriptions: number;
}

/**
 * Drift watches and a cache of live objects shared by every `kubeSink` that uses it: one
 * list-and-watch per kind (across all namespaces when the identity may list there, else per
 * namespace), whatever the number of reconcilers, with each change routed to the sinks that
 * watch that object. A sink reads live objects from it when the cache has seen the sink's own
 * last write (by resourceVersion) and asks the server otherwise.
 */
export interface WatchCache {
  /** The API server's base URL. */
  readonly server: string;
  /** Counts of watches, collections and objects held. */
  stats(): WatchCacheStats;
  /** Ends every watch and releases the connection; sinks using the cache stop receiving drift. */
  close(): Promise<void>;
}

const internals = new WeakMap<WatchCache, SharedInformers>();
const shared = new WeakMap<KubeConfig | KubeTransport, WatchCache>();

/**
 * A watch cache of its own: pass it to the `kubeSink`s that should share it (`kubeSink({ watchCache })`).
 * Every sink sharing a cache must act as the same identity as the cache's connection: the
 * cache reads with its credentials and hands what it sees to all of them.
 *
 * @example
 * ```ts
 * import { KubeConfig } from '@kubernetes/client-node';
 * import { createWatchCache, kubeSink } from '@converge/kube-sink';
 *
 * const kubeConfig = new KubeConfig();
 * kubeConfig.loadFromDefault();
 * const watchCache = createWatchCache({ kubeConfig });
 * const sinks = ['team-a', 'team-b'].map((team) => kubeSink({ kubeConfig, watchCache, fieldManager: team }));
 * ```
 */
export function createWatchCache(options: WatchCacheOptions): WatchCache {
  const owned = options.kubeConfig !== undefined;
  const transport =
    options.transport ??
    createTransport(options.kubeConfig, { onRequest: options.onRequest, limiter: options.requestLimiter ?? sharedRequestLimiter(options.kubeConfig) });
  const informers = new SharedInformers({
    transport,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    watchTimeoutSeconds: options.watchTimeoutSeconds,
  });
  const cache: WatchCache = {
    server: transport.server,
    stats: () => informers.stats(),
    async close() {
      informers.stop();
      const key = options.kubeConfig ?? options.transport;
      if (shared.get(key) === cache) shared.delete(key);
      if (owned) await transport.close();
    },
  };
  internals.set(cache, informers);
  return cache;
}

/**
 * The process's watch cache for a connection: every `kubeSink` built with the same KubeConfig
 * object (or given the same transport) gets this one unless given another, so a fleet of sinks
 * opens one watch per kind. Keyed by the object, since the same object means the same cluster
 * and credentials; a KubeConfig loaded twice gets two caches. A cache on a KubeConfig has a
 * transport of its own (it outlives any one sink); a cache on a transport uses that transport.
 */
export function sharedWatchCache(connection: KubeConfig | KubeTransport): WatchCache {
  let cache = shared.get(connection);
  if (!cache) {
    cache = connection instanceof KubeConfig ? createWatchCache({ kubeConfig: connection }) : createWatchCache({ transport: connection });
    shared.set(connection, cache);
  }
  return cache;
}

/** The informers behind a cache, for the sinks that use it. */
export function informersOf(cache: WatchCache): SharedInformers {
  const informers = internals.get(cache);
  if (!informers) throw new TypeError('not a watch cache made by createWatchCache');
  return informers;
}
