import { KubeConfig } from '@kubernetes/client-node';
import { systemClock } from '@converge/core';
import type { ApplyOptions, ApplyResult, Clock, DeleteOptions, DriftEvent, GroupVersionKind, KubeObject, ObjectRef, Sink, SinkCallOptions } from '@converge/core';
import { applyObjects } from './apply.js';
import { deleteObjects } from './delete.js';
import type { KubeDeleteResult } from './delete.js';
import { createDiscovery } from './discovery.js';
import { UnknownKindError } from './errors.js';
import type { Discovery } from './discovery.js';
import { findOwned, getObjects, listKind, listNamespace } from './get.js';
import { deleteInventory, isInventoryRef, readInventory, writeInventory } from './inventory.js';
import type { InventoryOptions } from './inventory.js';
import { createTransport } from './transport.js';
import type { KubeRequestInfo, KubeTransport } from './transport.js';
import { watchDrift } from './watch.js';
import { informersOf, sharedWatchCache } from './watch-cache.js';
import type { WatchCache, WatchCacheOptions } from './watch-cache.js';
import type { DriftWatchOptions } from './watch.js';
import type { SinkContext } from './internal/context.js';
import { OwnWrites } from './internal/own-writes.js';
import { sharedRequestLimiter } from './request-limiter.js';
import type { RequestLimiter } from './request-limiter.js';

/** Options for {@link kubeSink}: {@link KubeSinkBaseOptions} and either its own transport's settings or a `transport`. */
export type KubeSinkOptions = KubeSinkBaseOptions & (KubeSinkTransportOptions | KubeSinkInjectedTransport);

/** Options of {@link kubeSink} whatever carries its requests. */
export interface KubeSinkBaseOptions {
  /**
   * The cluster and credentials.
   * @default a KubeConfig loaded from the default locations (`KUBECONFIG`, `~/.kube/config`, in-cluster)
   */
  kubeConfig?: KubeConfig;
  /**
   * Time for deadlines and polls (waiting for a CRD to be Established) and for the request
   * timeouts of the transport it builds; tests pass `FakeClock` from `@converge/core/testing`.
   * Watches run on the watch cache's own clock ({@link WatchCacheOptions}).
   * @default systemClock
   */
  clock?: Clock;
  /**
   * The server-side apply field manager; fields this sink sets are owned under this name.
   * @default 'converge'
   */
  fieldManager?: string;
  /**
   * Take over fields another field manager owns instead of failing with `APPLY_CONFLICT`.
   * @default false
   */
  force?: boolean;
  /** Where inventories (one ConfigMap per reconciler) are kept. See {@link InventoryOptions}. */
  inventory?: InventoryOptions;
  /**
   * `propagationPolicy` of deletes: `Background` lets the garbage collector remove dependents
   * after the object, `Foreground` before it, `Orphan` keeps them.
   * @default 'Background'
   */
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /**
   * Most requests in flight at once while applying, deleting and reading.
   * @default 32
   */
  concurrency?: number;
  /**
   * Namespace for namespaced objects that name none (as `kubectl` uses its context's).
   * @default the KubeConfig context's namespace, else 'default'
   */
  defaultNamespace?: string;
  /**
   * How long to wait for an applied CustomResourceDefinition to become Established before its
   * custom resources are applied.
   * @default 60000
   */
  crdEstablishedTimeoutMs?: number;
  /** Drift watch tuning (debounce, error callback). */
  watch?: DriftWatchOptions;
  /**
   * Where drift watches run and live objects are cached, shared with every other sink on the
   * same cache: one watch per kind however many reconcilers watch. Pass one made by
   * {@link createWatchCache} to share it explicitly (every sink on it must act as the same identity).
   * @default the process's cache for this sink's KubeConfig object, or for its transport when one is passed in ({@link sharedWatchCache})
   */
  watchCache?: WatchCache;
  /**
   * Answer `get` from the watch cache for objects it watches, when it has seen this sink's own
   * last write to each (by resourceVersion); everything else, and everything while a watch
   * reconnects, is read from the server. Objects from the cache carry no `managedFields`.
   * @default true
   */
  cacheReads?: boolean;
}

/** Settings of the transport {@link kubeSink} builds on the KubeConfig when it is given none. */
export interface KubeSinkTransportOptions {
  /** No transport given: the sink builds one with {@link createTransport}. */
  transport?: undefined;
  /**
   * Per-request timeout in milliseconds; a request that takes longer fails with a retryable
   * `KUBE_UNREACHABLE`.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /**
   * Largest request body in bytes; a larger object fails at once with a non-retryable
   * `REQUEST_TOO_LARGE` instead of being sent (and cut off by the server).
   * @default 3145728 (3 MiB, kube-apiserver's limit)
   */
  maxRequestBytes?: number;
  /**
   * Called after every request of the sink to the API server, e.g. to count write requests in
   * tests and benchmarks. Watches and their LISTs are the watch cache's requests (see
   * `WatchCacheOptions.onRequest`).
   */
  onRequest?: (info: KubeRequestInfo) => void;
  /**
   * Caps the requests in flight to the API server (and optionally their rate), together with
   * every other sink and watch cache holding the same limiter; `concurrency` is per call, this
   * is for the whole process. Pass one made by {@link createRequestLimiter} to tune it.
   * @default the process's limiter for this sink's KubeConfig object ({@link sharedRequestLimiter}: 64 in flight, no rate)
   */
  requestLimiter?: RequestLimiter;
}

/**
 * A transport passed in, e.g. one built with {@link createTransport} and wrapped to inject faults
 * in tests (as controller-runtime's interceptor client wraps a client). Timeouts, size limits
 * and request reporting are then the transport's own settings; `close()` leaves it open.
 */
export interface KubeSinkInjectedTransport {
  /** Carries every request of the sink. */
  transport: KubeTransport;
  /** Set on the transport instead. */
  requestTimeoutMs?: never;
  /** Set on the transport instead. */
  maxRequestBytes?: never;
  /** Set on the transport instead. */
  onRequest?: never;
  /** Set on the transport instead (`createTransport(kubeConfig, { limiter })`). */
  requestLimiter?: never;
}

/** The Kubernetes `Sink`, with a few extras beyond the interface. */
export interface KubeSink extends Sink {
  /** Deletes like `Sink.delete`; results also say when an object was kept on purpose. */
  delete(refs: readonly ObjectRef[], options?: DeleteOptions): Promise<KubeDeleteResult[]>;
  /** Removes `owner`'s inventory ConfigMap (already gone is fine); required here, optional on `Sink`. */
  deleteInventory(owner: string, options?: SinkCallOptions): Promise<void>;
  /** Watches `refs` for changes made by others; required here, optional on `Sink`. */
  watch(refs: readonly ObjectRef[], onDrift: (event: DriftEvent) => void): () => void;
  /** The discovery cache in use (kind → REST resource). */
  readonly discovery: Discovery;
  /** The namespace for namespaced objects that name none. */
  readonly defaultNamespace: string;
  /** Every object in a namespace, of every kind that can be listed and deleted; required here, optional on `Sink`. */
  listNamespace(namespace: string, options?: SinkCallOptions): Promise<KubeObject[]>;
  /** Every object of a kind in all namespaces (none if the kind is not served); required here, optional on `Sink`. */
  listKind(kind: { group: string; kind: string }, options?: SinkCallOptions): Promise<KubeObject[]>;
  /** Refs of every object annotated with `owner`, cluster-wide; required here, optional on `Sink`. */
  findOwned(owner: string, options?: SinkCallOptions): Promise<ObjectRef[]>;
  /** Whether a ref names one of this sink's inventory ConfigMaps; required here, optional on `Sink`. */
  isReserved(ref: ObjectRef): boolean;
  /** Whether a kind is namespaced, from discovery; required here, optional on `Sink`. */
  scopeOf(kind: GroupVersionKind, options?: SinkCallOptions): Promise<'Namespaced' | 'Cluster' | undefined>;
  /** Closes pooled connections; the sink may not be used afterwards. */
  close(): Promise<void>;
}

/**
 * A `Sink` on a real Kubernetes API server: server-side apply (one request per
 * object, manifests sent as written), prune with a propagation policy, inventories stored
 * in the cluster as ConfigMaps, watch-based drift detection, and errors mapped to typed
 * `ConvergeError`s.
 *
 * @example
 * ```ts
 * import { createReconciler, directorySource, yamlFiles } from '@converge/core';
 * import { kubeSink } from '@converge/kube-sink';
 *
 * const sink = kubeSink({ fieldManager: 'platform-deployer', inventory: { namespace: 'platform' } });
 * const r = createReconciler({ name: 'web', source: directorySource('./deploy'), render: yamlFiles(), sink, prune: true });
 * const result = await r.reconcile();
 * ```
 */
export function kubeSink(options: KubeSinkOptions = {}): KubeSink {
  const clock = options.clock ?? systemClock;
  // With a transport passed in, a KubeConfig is read only when needed (the watch, the context's namespace).
  let kubeConfig = options.kubeConfig ?? (options.transport ? undefined : loadDefaultKubeConfig());
  const config = (): KubeConfig => (kubeConfig ??= loadDefaultKubeConfig());
  const transport =
    options.transport ??
    createTransport(config(), {
      clock,
      onRequest: options.onRequest,
      timeoutMs: options.requestTimeoutMs,
      maxRequestBytes: options.maxRequestBytes,
      limiter: options.requestLimiter ?? sharedRequestLimiter(config()),
    });
  const discovery = createDiscovery(transport);
  const contextNamespace = kubeConfig?.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  const ctx: SinkContext = {
    transport,
    clock,
    discovery,
    ownWrites: new OwnWrites(),
    fieldManager: options.fieldManager ?? 'converge',
    force: options.force ?? false,
    concurrency: Math.max(1, options.concurrency ?? 32),
    propagationPolicy: options.propagationPolicy ?? 'Background',
    defaultNamespace: options.defaultNamespace ?? contextNamespace ?? 'default',
    crdEstablishedTimeoutMs: options.crdEstablishedTimeoutMs ?? 60_000,
    informers: informersOf(options.watchCache ?? sharedWatchCache(options.transport ?? config())),
    cacheReads: options.cacheReads ?? true,
  };
  const inventory = options.inventory ?? {};
  const stops = new Set<() => void>();

  const sink: KubeSink = {
    id: transport.server,
    discovery,
    defaultNamespace: ctx.defaultNamespace,
    listNamespace: (namespace: string, o?: SinkCallOptions) => listNamespace(ctx, namespace, o),
    listKind: (kind: { group: string; kind: string }, o?: SinkCallOptions) => listKind(ctx, kind, o),
    isReserved: (ref: ObjectRef) => isInventoryRef(ref, inventory),
    findOwned: (owner: string, o?: SinkCallOptions) => findOwned(ctx, owner, o),
    async scopeOf(kind: GroupVersionKind, o?: SinkCallOptions) {
      try {
        return (await discovery.resolve(kind, { signal: o?.signal })).namespaced ? 'Namespaced' : 'Cluster';
      } catch (err) {
        if (err instanceof UnknownKindError) return undefined;
        throw err;
      }
    },
    get: (refs: readonly ObjectRef[], o?: SinkCallOptions): Promise<KubeObject[]> => getObjects(ctx, refs, o),
    readInventory: (owner: string, o?: SinkCallOptions) => readInventory(ctx, owner, inventory, o),
    apply: (objects: readonly KubeObject[], o?: ApplyOptions): Promise<ApplyResult[]> => applyObjects(ctx, objects, o),
    delete: (refs: readonly ObjectRef[], o?: DeleteOptions) => deleteObjects(ctx, refs, o),
    writeInventory: (owner: string, refs: readonly ObjectRef[], o?: SinkCallOptions) => writeInventory(ctx, owner, refs, inventory, o),
    deleteInventory: (owner: string, o?: SinkCallOptions) => deleteInventory(ctx, owner, inventory, o),
    watch(refs, onDrift) {
      const stop = watchDrift(ctx, refs, onDrift, options.watch);
      const wrapped = (): void => {
        stops.delete(wrapped);
        stop();
      };
      stops.add(wrapped);
      return wrapped;
    },
    async close() {
      for (const stop of [...stops]) stop();
      if (!options.transport) await transport.close();
    },
  };
  return sink satisfies Sink;
}

function loadDefaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
