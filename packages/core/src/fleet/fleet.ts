import { systemClock, type Clock } from '../clock.js';
import { toConvergeError, type ConvergeError } from '../errors.js';
import type { PassReason, ReconcileEvent } from '../events.js';
import type { Gate } from '../gate.js';
import { Emitter } from '../emitter.js';
import { memoryFileTree } from '../memory-file-tree.js';
import { PassLoop } from '../internal/pass-loop.js';
import type { KubeObject } from '../object.js';
import { createReconciler, type Reconciler, type ReconcilerOptions } from '../reconciler.js';
import type { ReconcileResult, ReconcilerStatus } from '../reconciler-status.js';
import { pipe, type Renderer } from '../renderer.js';
import { exponentialBackoff, type RetryPolicy } from '../retry-policy.js';
import type { Sink } from '../sink.js';
import type { Source } from '../source.js';
import { setNamespace } from '../transforms/set-namespace.js';
import { AppSpecError, type AppSpec } from './app-spec.js';
import { dependenciesReady } from './dependency-gate.js';
import type { FleetShard } from './fleet-shard.js';
import { guardSink } from '../internal/guarded-sink.js';
import { NotLeaderError, type WriteGuard } from '../write-guard.js';
import { readAppSpecs } from './read-app-specs.js';

/** What `createApp` returns for one application spec. */
export interface AppParts {
  source: Source;
  render: Renderer;
  /** Extra gates for this application (the `dependsOn` gate is added by the fleet). */
  gates?: Gate[];
}

/** Options of {@link createFleet}. */
export interface FleetOptions {
  /** The fleet's name; children are named `<fleet>-<app>`. */
  name: string;
  /** Where the application spec files live. */
  source: Source;
  /** Folder of spec files inside the source's artifact. @default the root */
  path?: string;
  /** Where every application is applied. */
  sink: Sink;
  /** Builds an application's source and renderer from its spec: the plugin point for git, Helm, …. */
  createApp(spec: AppSpec): AppParts | Promise<AppParts>;
  /** Options given to every child reconciler unless its spec says otherwise. @default { prune: true } */
  appDefaults?: Partial<Pick<ReconcilerOptions, 'interval' | 'jitter' | 'prune' | 'wait' | 'retry' | 'ignore' | 'adopt' | 'dryRun' | 'forceConflicts'>>;
  /** How often the spec folder is polled, in ms. @default 60000 */
  interval?: number;
  /** @default 0.1 */
  jitter?: number;
  /** @default exponentialBackoff() */
  retry?: RetryPolicy;
  /** @default systemClock */
  clock?: Clock;
  /** @default Math.random */
  random?: () => number;
  /**
   * "May I write?" for the whole fleet (every application and the fleet's own record), e.g. a
   * leader elector: only the leader's fleet writes; a refused fleet pass fails with a retryable
   * `NOT_LEADER`. See `ReconcilerOptions.writeGuard`.
   * @default none: every write is allowed
   */
  writeGuard?: WriteGuard;
  /**
   * Spreads the applications over replicas: this replica runs only the applications the shard
   * says it owns (each one's writes are guarded by it), stops those it gives up when the shard
   * asks, and starts those it gains. Removed applications are torn down by their owner; the
   * fleet's record is written by the one replica that owns `fleet:<name>`. E.g.
   * `createShardMembership` from `@converge/kube-sink`. With a shard, `dependsOn` only sees
   * applications on the same replica: pin dependent applications to one shard label.
   * @default none: this replica runs every application
   */
  shard?: FleetShard;
}

/** Events of a fleet: its own pass events, every child's events, and application lifecycle. */
export type FleetEvent =
  | ReconcileEvent
  | { type: 'app.added' | 'app.updated' | 'app.removed'; reconciler: string; app: string; at: number }
  | { type: 'app.removeFailed'; reconciler: string; app: string; at: number; error: ConvergeError };

/** The outcome of one fleet pass. */
export interface FleetResult {
  status: 'succeeded' | 'failed' | 'skipped';
  revision?: string;
  added: string[];
  updated: string[];
  removed: string[];
  error?: ConvergeError;
  /** In push mode (`reconcile()`), each application's pass result. */
  apps: Record<string, ReconcileResult>;
}

/** All applications in one view. */
export interface FleetStatus {
  name: string;
  phase: ReconcilerStatus['phase'];
  lastAppliedRevision?: string;
  lastError?: ConvergeError;
  apps: Record<string, ReconcilerStatus & { spec: AppSpec }>;
}

/** A reconciler of reconcilers ("app of apps"). */
export interface Fleet {
  readonly name: string;
  /** Reads the specs, adds/reconfigures/removes applications, then runs one pass of each (in dependency order). */
  reconcile(): Promise<FleetResult>;
  /** Pull mode: polls the spec folder and keeps every application's own loop running. */
  start(): void;
  /** Stops the fleet and every application (nothing is removed from the target). */
  stop(): Promise<void>;
  /** Asks for a fleet pass as soon as possible (e.g. from a webhook). */
  trigger(reason?: string): void;
  /** Suspends the fleet and every application. */
  suspend(): void;
  /** Resumes the fleet and every application not suspended by its own spec. */
  resume(): void;
  /** The fleet's state and every application's status, in one view. */
  status(): FleetStatus;
  /** The reconciler of one application. */
  app(name: string): Reconciler | undefined;
  /** Subscribes to fleet, lifecycle and application events; returns the unsubscribe function. */
  on(type: FleetEvent['type'] | '*', fn: (event: FleetEvent) => void): () => void;
}

interface Child {
  spec: AppSpec;
  key: string;
  reconciler: Reconciler;
  off: () => void;
}

/**
 * Creates a fleet: one child reconciler per application spec file in a folder of a source.
 * A new file starts an application, a changed file reconfigures it, a removed file prunes
 * everything that application applied and stops it — but only after the folder was read
 * successfully: a broken spec file fails the fleet pass and leaves every application as it is.
 * The fleet records its applications' names in the sink (inventory owner `fleet:<name>`), so a
 * file removed while the fleet was not running is torn down by the next fleet pass after a restart.
 *
 * @example
 * ```ts
 * const fleet = createFleet({
 *   name: 'previews', source: gitSource({ url, ref: { branch: 'main' } }), path: 'apps', sink,
 *   createApp: (spec) => ({ source: gitSource({ url: spec.source!.url as string, ...}), render: yamlFiles() }),
 * });
 * fleet.start();
 * ```
 */
export function createFleet(options: FleetOptions): Fleet {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const events = new Emitter<FleetEvent>();
  const children = new Map<string, Child>();
  /** Applications whose files were removed but whose objects could not be pruned yet. */
  const leaving = new Map<string, AppSpec>();
  const state: { lastAppliedRevision?: string; lastError?: ConvergeError } = {};
  const emit = (event: Record<string, unknown> & { type: FleetEvent['type'] }) => events.emit({ ...event, reconciler: options.name, at: clock.now() } as FleetEvent);
  const childName = (app: string) => `${options.name}-${app}`;
  /** The sink inventory in which the fleet records its applications' names. */
  const recordOwner = `fleet:${options.name}`;
  let suspended = false;
  let passStartedAt = 0;
  const { shard, writeGuard } = options;
  /** An application's write guard: the fleet's guard and, when sharded, ownership of the application. */
  const guardOf = (app: { name: string; shard?: string | undefined }): WriteGuard | undefined =>
    !shard && !writeGuard
      ? undefined
      : {
          mayWrite: () => (writeGuard?.mayWrite() ?? true) && (shard?.owns(app) ?? true),
          describe: () => [writeGuard?.describe?.(), shard?.describe?.()].filter(Boolean).join('; '),
        };
  const recordKey = { name: recordOwner };
  /** The sink as the fleet's own record sees it: guarded by the fleet's guard (and, sharded, by owning the record). */
  const sink = guardSink(options.sink, guardOf(recordKey), recordOwner);

  const loop: PassLoop<FleetResult> = new PassLoop({
    clock,
    interval: options.interval ?? 60_000,
    jitter: options.jitter ?? 0.1,
    random,
    retry: options.retry ?? exponentialBackoff({ random }),
    run: pass,
    errorOf: (r) => r.error,
    settled: (result, next) => {
      if (result.status === 'failed' && result.error) emit({ type: 'pass.failed', error: result.error, durationMs: clock.now() - passStartedAt, ...next, ...(result.revision && { revision: result.revision }) });
    },
  });

  async function pass(reason: PassReason, signal: AbortSignal): Promise<FleetResult> {
    const result: FleetResult = { status: 'succeeded', added: [], updated: [], removed: [], apps: {} };
    if (loop.suspended) return { ...result, status: 'skipped' };
    const startedAt = (passStartedAt = clock.now());
    emit({ type: 'pass.started', reason });
    try {
      if (writeGuard && !writeGuard.mayWrite()) throw new NotLeaderError(options.name, 'start a fleet pass', writeGuard.describe?.());
      const revision = (result.revision = await options.source.latestRevision({ signal }));
      const artifact = await options.source.fetch(revision, { signal });
      const specs = await readAppSpecs(artifact.files, options.path);
      checkDependencies(specs);
      await sync(specs, result);
      if (!loop.running) await reconcileAll(specs, result);
      state.lastAppliedRevision = revision;
      delete state.lastError;
      emit({ type: 'pass.succeeded', revision, counts: { created: result.added.length, updated: result.updated.length, deleted: result.removed.length, unchanged: specs.length - result.added.length - result.updated.length }, durationMs: clock.now() - startedAt, driftCorrected: 0 });
    } catch (thrown) {
      result.status = 'failed';
      result.error = state.lastError = toConvergeError(thrown);
    }
    return result;
  }

  async function sync(specs: AppSpec[], result: FleetResult): Promise<void> {
    const wanted = new Map(specs.map((s) => [s.name, s]));
    // Applications recorded by an earlier run (this process or one before a restart) whose files
    // are gone: torn down like any other removal, so nothing is orphaned across restarts.
    const recordedRefs = await readRecord();
    const recorded = recordedRefs.map((ref) => ref.name);
    for (const ref of recordedRefs) {
      const app = { name: ref.name, ...(ref.namespace !== undefined && { shard: ref.namespace }) };
      // Sharded, a removed application is torn down by its owner only.
      if (!wanted.has(app.name) && !children.has(app.name) && !leaving.has(app.name) && (shard?.owns(app) ?? true)) leaving.set(app.name, { name: app.name, ...(app.shard && { shard: app.shard }) });
    }
    // Sharded, applications other replicas are still tearing down stay recorded until they are gone.
    const othersLeaving = shard ? await stillLeaving(recordedRefs.filter((r) => !wanted.has(r.name) && !leaving.has(r.name) && !children.has(r.name))) : [];
    // Record every application before any of them applies anything.
    const written = await record([...specs, ...leaving.values(), ...[...children.values()].map((c) => c.spec), ...othersLeaving], recorded);
    for (const [app, child] of children) {
      if (!wanted.has(app)) {
        children.delete(app);
        child.off();
        await child.reconciler.stop();
        leaving.set(app, child.spec);
      } else if (shard && !shard.owns(wanted.get(app)!)) {
        // Handed over to another replica: stopped here, not removed.
        children.delete(app);
        child.off();
        await child.reconciler.stop({ abort: true });
      }
    }
    for (const [app, spec] of leaving) {
      if (wanted.has(app)) {
        leaving.delete(app);
        continue;
      }
      const error = await teardown(spec);
      if (error) emit({ type: 'app.removeFailed', app, error });
      else {
        leaving.delete(app);
        result.removed.push(app);
        emit({ type: 'app.removed', app });
      }
    }
    for (const spec of specs) {
      if (shard && !shard.owns(spec)) continue;
      const key = JSON.stringify(spec);
      const existing = children.get(spec.name);
      if (existing?.key === key) continue;
      if (existing) {
        existing.off();
        await existing.reconciler.stop();
      }
      const child = await createChild(spec, key);
      children.set(spec.name, child);
      (existing ? result.updated : result.added).push(spec.name);
      emit({ type: existing ? 'app.updated' : 'app.added', app: spec.name });
      if (loop.running && !suspended) child.reconciler.start();
    }
    await record([...specs, ...leaving.values(), ...othersLeaving], written);
  }

  /**
   * Writes the fleet's own record of its applications (names, and shard labels of pinned ones)
   * if it differs from `current`; returns what is recorded. Sharded, only the replica owning the
   * record writes it.
   */
  async function record(apps: { name: string; shard?: string | undefined }[], current: string[]): Promise<string[]> {
    if (shard && !shard.owns(recordKey)) return current;
    const byName = new Map(apps.map((a) => [a.name, a]));
    const names = [...byName.keys()].sort();
    if (names.join('\n') === [...new Set(current)].sort().join('\n')) return current;
    await sink.writeInventory(recordOwner, names.map((name) => ({ group: 'converge.dev', kind: 'Application', name, ...(byName.get(name)!.shard && { namespace: byName.get(name)!.shard }) })));
    return names;
  }

  /** The fleet's record. Sharded, another replica may have rewritten it since this one read it: that is read again, not an error. */
  async function readRecord(): Promise<{ name: string; namespace?: string }[]> {
    try {
      return (await sink.readInventory(recordOwner)) ?? [];
    } catch (error) {
      if (!shard || toConvergeError(error).code !== 'CONCURRENT_WRITER') throw error;
      return (await sink.readInventory(recordOwner)) ?? [];
    }
  }

  /** Of recorded, removed applications another replica tears down, those whose inventory is not gone yet. */
  async function stillLeaving(refs: { name: string; namespace?: string }[]): Promise<{ name: string; shard?: string }[]> {
    if (!shard?.owns(recordKey)) return [];
    const out: { name: string; shard?: string }[] = [];
    for (const ref of refs) {
      const inventory = await options.sink.readInventory(childName(ref.name));
      if (inventory !== undefined && inventory.length > 0) out.push({ name: ref.name, ...(ref.namespace !== undefined && { shard: ref.namespace }) });
    }
    return out;
  }

  async function createChild(spec: AppSpec, key: string): Promise<Child> {
    const parts = await options.createApp(spec);
    const reconciler = createReconciler({
      ...options.appDefaults,
      name: childName(spec.name),
      source: parts.source,
      render: withNamespace(spec, parts.render),
      sink: options.sink,
      clock,
      random,
      ...(guardOf(spec) && { writeGuard: guardOf(spec)! }),
      prune: spec.prune ?? options.appDefaults?.prune ?? true,
      ...(spec.interval !== undefined && { interval: spec.interval }),
      ...(spec.wait && { wait: spec.wait }),
      gates: [...(spec.dependsOn?.length ? [dependenciesReady(spec.dependsOn, (app) => children.get(app)?.reconciler.status())] : []), ...(parts.gates ?? [])],
    });
    if (spec.suspend || suspended) reconciler.suspend();
    const off = reconciler.on('*', (e) => events.emit(e));
    return { spec, key, reconciler, off };
  }

  /**
   * Prunes everything a removed application applied, by running it once with nothing desired,
   * then removes its (now empty) inventory record where the sink can.
   */
  async function teardown(spec: AppSpec): Promise<ConvergeError | undefined> {
    const id = `${options.name}/removed/${spec.name}`;
    const nothing: Source = { id, latestRevision: async () => 'removed', fetch: async () => ({ source: id, revision: 'removed', files: memoryFileTree({}) }) };
    // Tearing down a removed application deletes all of it by definition: no prune budget.
    const guard = guardOf(spec);
    const reconciler = createReconciler({ name: childName(spec.name), source: nothing, render: async () => [], sink: options.sink, prune: true, allowEmpty: true, pruneBudget: false, clock, ...(guard && { writeGuard: guard }) });
    const off = reconciler.on('*', (e) => events.emit(e));
    const result = await reconciler.reconcile();
    off();
    if (result.error) return result.error;
    try {
      await guardSink(options.sink, guard, childName(spec.name)).deleteInventory?.(childName(spec.name));
    } catch (thrown) {
      return toConvergeError(thrown);
    }
    return undefined;
  }

  async function reconcileAll(specs: AppSpec[], result: FleetResult): Promise<void> {
    for (const spec of dependencyOrder(specs)) {
      const child = children.get(spec.name);
      // Sharded: another replica runs it.
      if (child) result.apps[spec.name] = await child.reconciler.reconcile();
    }
  }

  shard?.attach({
    async release(apps) {
      await Promise.all(
        apps.map(async (app) => {
          leaving.delete(app);
          const child = children.get(app);
          if (!child) return;
          children.delete(app);
          child.off();
          await child.reconciler.stop({ abort: true });
        }),
      );
    },
    changed: () => {
      if (loop.running) loop.trigger('shard');
    },
  });

  return {
    name: options.name,
    reconcile: () => loop.enqueue('manual'),
    start() {
      for (const child of children.values()) if (!suspended) child.reconciler.start();
      loop.start();
    },
    async stop() {
      await loop.stop();
      await Promise.all([...children.values()].map((c) => c.reconciler.stop()));
    },
    trigger: (reason = 'trigger') => loop.trigger(reason),
    suspend() {
      suspended = true;
      if (loop.suspend()) emit({ type: 'suspended' });
      for (const child of children.values()) child.reconciler.suspend();
    },
    resume() {
      suspended = false;
      if (loop.suspended) emit({ type: 'resumed' });
      loop.resume();
      for (const child of children.values()) if (!child.spec.suspend) child.reconciler.resume();
    },
    status: () => ({
      name: options.name,
      phase: loop.phase,
      ...state,
      apps: Object.fromEntries([...children].map(([app, c]) => [app, { ...c.reconciler.status(), spec: c.spec }])),
    }),
    app: (name) => children.get(name)?.reconciler,
    on: (type, fn) => events.on(type, fn),
  };
}

/** Adds the application's namespace to its objects and, unless `createNamespace: false`, the Namespace itself. */
function withNamespace(spec: AppSpec, render: Renderer): Renderer {
  if (!spec.namespace) return render;
  const ns = spec.namespace;
  const namespaced = pipe(render, setNamespace(ns));
  if (spec.createNamespace === false) return namespaced;
  const namespaceObject: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  return async (ctx) => {
    const objects = await namespaced(ctx);
    return objects.some((o) => o.kind === 'Namespace' && o.metadata.name === ns) ? objects : [namespaceObject, ...objects];
  };
}

function checkDependencies(specs: AppSpec[]): void {
  const names = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    for (const dep of spec.dependsOn ?? []) {
      if (!names.has(dep)) throw new AppSpecError(`app ${spec.name} depends on ${dep}, which is not declared`, { file: spec.name });
    }
  }
  dependencyOrder(specs);
}

/** Specs sorted so every application comes after the ones it depends on. */
function dependencyOrder(specs: AppSpec[]): AppSpec[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: AppSpec[] = [];
  const visit = (spec: AppSpec, path: string[]) => {
    if (done.has(spec.name)) return;
    if (visiting.has(spec.name)) throw new AppSpecError(`dependency cycle: ${[...path, spec.name].join(' → ')}`, { file: spec.name });
    visiting.add(spec.name);
    for (const dep of spec.dependsOn ?? []) visit(byName.get(dep)!, [...path, spec.name]);
    visiting.delete(spec.name);
    done.add(spec.name);
    out.push(spec);
  };
  for (const spec of specs) visit(spec, []);
  return out;
}
