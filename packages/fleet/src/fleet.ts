import {
  cancelledPassError,
  createReconciler,
  exponentialBackoff,
  guardSink,
  InvalidOptionsError,
  memoryFileTree,
  NotLeaderError,
  PassLoop,
  Semaphore,
  systemClock,
  toConvergeError,
  Emitter,
  type Clock,
  type EventWithout,
  type ConvergeError,
  type Gate,
  type PassReason,
  type Reconciler,
  type ReconcilerOptions,
  type ReconcileResult,
  type ReconcilerStatus,
  type Renderer,
  type RetryPolicy,
  type Sink,
  type Source,
  type FleetShard,
  type WriteGuard,
} from '@converge/core';
import { AppSpecError, type AnyAppSpec, type AppSpec } from './app-spec.js';
import { dependenciesReady } from './dependency-gate.js';
import type { FleetEvent, FleetEventOf, FleetEventType, FleetOwnEvent } from './fleet-event.js';
import { checkDependencies, dependencyOrder } from './internal/dependency-order.js';
import { recordKey, recordOf, recordRefs, type FleetRecord, type RecordedApp } from './internal/fleet-record.js';
import { withNamespace } from './internal/with-namespace.js';
import { readAppSpecFiles } from './read-app-specs.js';

/** What `createApp` returns for one application spec. */
export interface AppParts {
  source: Source;
  render: Renderer;
  /** Extra gates for this application (the `dependsOn` gate is added by the fleet). */
  gates?: Gate[];
}

/**
 * Turns a spec, once the fleet has checked its common fields, into the application's own
 * type: checks `source` and `render` and gives them types, so `createApp` needs no casts.
 * Throw an {@link AppSpecError} (or anything: it becomes one, naming `file`) for an invalid
 * spec: the fleet pass then fails and leaves every application as it is.
 */
export type SpecParser<TSpec extends AnyAppSpec> = (spec: AppSpec, context: { file: string }) => TSpec;

/** Options of {@link createFleet}. */
export interface FleetOptions<TSpec extends AnyAppSpec = AppSpec> {
  /** The fleet's name; children are named `<fleet>-<app>`. */
  name: string;
  /** Where the application spec files live. */
  source: Source;
  /** Folder of spec files inside the source's artifact. @default the root */
  path?: string;
  /** Where every application is applied. */
  sink: Sink;
  /**
   * Checks and types each spec's `source` and `render` (see {@link SpecParser}).
   * @default none: specs are {@link AppSpec}s whose `source` and `render` are plain records
   */
  parseSpec?: SpecParser<TSpec>;
  /** Builds an application's source and renderer from its spec: the plugin point for git, Helm, …. */
  createApp: (spec: TSpec) => AppParts | Promise<AppParts>;
  /** Options given to every child reconciler unless its spec says otherwise. @default { prune: true } */
  appDefaults?: Partial<Pick<ReconcilerOptions, 'intervalMs' | 'jitter' | 'prune' | 'wait' | 'retry' | 'ignore' | 'adopt' | 'dryRun' | 'forceConflicts'>>;
  /** How often the spec folder is polled, in ms. @default 60000 */
  intervalMs?: number;
  /** @default 0.1 */
  jitter?: number;
  /** @default exponentialBackoff() */
  retry?: RetryPolicy;
  /**
   * Deadline of one fleet pass in ms: a fleet pass still running then is cancelled (its signal
   * aborted) and fails with a retryable `PASS_TIMEOUT`; `stop()` waits for a fleet pass at most
   * this long. In push mode (`reconcile()` on a fleet that is not started) the applications'
   * passes run inside the fleet pass, so the deadline covers them too.
   * @default 600000 (10 minutes)
   */
  passTimeoutMs?: number;
  /**
   * Most application passes running at once in this fleet, like controller-runtime's
   * `MaxConcurrentReconciles`: the others wait, first come, first served, whatever started them
   * (first pass, interval, trigger, drift, retry), and each application has at most one pass
   * waiting. A waiting pass of an application that is suspended, removed or handed to another
   * replica is dropped, and `stop()` does not wait for passes that never started. The fleet's own
   * pass (reading specs, tearing down removed applications) does not take a slot. `Infinity`
   * starts every pass at once. See `ReconcilerOptions.passSlots`.
   * Less than 1 is an `INVALID_OPTIONS` error.
   * @default 16
   */
  maxConcurrentPasses?: number;
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
   * fleet's record (its applications and suspensions) is written by the one replica that owns
   * `fleet:<name>`. E.g. `createShardMembership` from `@converge/kube-sink`. With a shard,
   * `dependsOn` only sees applications on the same replica: pin dependent applications to one
   * shard label.
   * @default none: this replica runs every application
   */
  shard?: FleetShard;
}

/** What a fleet pass did, whatever its outcome. */
export interface FleetResultBase {
  /** Applications started by this pass. */
  added: string[];
  /** Applications reconfigured (their spec changed). */
  updated: string[];
  /** Applications torn down (their spec is gone). */
  removed: string[];
  /** In push mode (`reconcile()`), each application's pass result. */
  apps: Record<string, ReconcileResult>;
}

/** The outcome of one fleet pass, as a discriminated union on `status`. */
export type FleetResult = FleetResultBase &
  (
    | { status: 'succeeded'; revision: string; error?: undefined }
    /** The spec folder could not be read or is invalid; every application was left as it was. */
    | { status: 'failed'; revision?: string; error: ConvergeError }
    /** The fleet is suspended. */
    | { status: 'skipped'; revision?: undefined; error?: undefined }
  );

/** All applications in one view. */
export interface FleetStatus<TSpec extends AnyAppSpec = AppSpec> {
  name: string;
  phase: ReconcilerStatus['phase'];
  lastAppliedRevision?: string;
  lastError?: ConvergeError;
  /** Failed fleet passes in a row. */
  consecutiveFailures: number;
  /** Applications suspended through {@link Fleet.suspendApp} (recorded; they stay suspended across spec changes and restarts). */
  suspendedApps: string[];
  /** Every application this replica runs: its reconciler's status and its spec. */
  apps: Record<string, ReconcilerStatus & { spec: TSpec }>;
}

/** A reconciler of reconcilers ("app of apps"). */
export interface Fleet<TSpec extends AnyAppSpec = AppSpec> {
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
  /** Resumes the fleet and every application not suspended by its own spec or by {@link Fleet.suspendApp}. */
  resume(): void;
  /**
   * Suspends one application until {@link Fleet.resumeApp}, and records that in the fleet's
   * record, so it stays suspended when its spec changes (a new reconciler), when the fleet is
   * resumed, and after a restart. Resolves `false` when the last spec folder read declares no
   * such application. Sharded, only the replica holding the fleet's record can record it;
   * elsewhere it rejects with `NOT_LEADER` (the owning replica follows at its next fleet pass).
   */
  suspendApp(name: string): Promise<boolean>;
  /** Undoes {@link Fleet.suspendApp} (unless its spec or the fleet itself suspends it, it runs a pass at once). */
  resumeApp(name: string): Promise<boolean>;
  /** The fleet's state and every application's status, in one view. */
  status(): FleetStatus<TSpec>;
  /** The reconciler of one application. */
  app(name: string): Reconciler | undefined;
  /** Subscribes to one event type (the event is narrowed by it), or `'*'` for all; returns the unsubscribe function. */
  on<T extends FleetEventType | '*'>(type: T, fn: (event: FleetEventOf<T>) => void): () => void;
}

interface Child<TSpec> {
  spec: TSpec;
  key: string;
  reconciler: Reconciler;
  off: () => void;
}

/**
 * Creates a fleet: one child reconciler per application spec file in a folder of a source.
 * A new file starts an application, a changed file reconfigures it, a removed file prunes
 * everything that application applied and stops it — but only after the folder was read
 * successfully: a broken spec file fails the fleet pass and leaves every application as it is.
 * The fleet records its applications' names (and the ones suspended with `suspendApp`) in the
 * sink (inventory owner `fleet:<name>`), so a file removed while the fleet was not running is
 * torn down by the next fleet pass after a restart, and a suspended application stays suspended.
 *
 * @example
 * ```ts
 * const fleet = createFleet({
 *   name: 'previews', source: gitSource({ url, ref: { branch: 'main' } }), path: 'apps', sink,
 *   parseSpec: (spec) => ({ ...spec, source: { path: String(spec.source?.['path'] ?? '.') } }),
 *   createApp: (spec) => ({ source: gitSource({ url, path: spec.source.path }), render: yamlFiles() }),
 * });
 * fleet.start();
 * ```
 */
export function createFleet(options: FleetOptions<AppSpec> & { parseSpec?: undefined }): Fleet<AppSpec>;
export function createFleet<TSpec extends AnyAppSpec>(options: FleetOptions<TSpec> & { parseSpec: SpecParser<TSpec> }): Fleet<TSpec>;
export function createFleet<TSpec extends AnyAppSpec>(options: FleetOptions<TSpec>): Fleet<TSpec> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const parseSpec = options.parseSpec ?? ((spec: AppSpec) => spec as TSpec);
  const events = new Emitter<FleetEvent>();
  const children = new Map<string, Child<TSpec>>();
  /** Applications whose files were removed but whose objects could not be pruned yet. */
  const leaving = new Map<string, RecordedApp>();
  const state: { lastAppliedRevision?: string; lastError?: ConvergeError } = {};
  const childName = (app: string) => `${options.name}-${app}`;
  const emit = (event: EventWithout<FleetOwnEvent, 'fleet' | 'at' | 'reconciler'>): void => {
    const stamp = { fleet: options.name, at: clock.now() };
    events.emit('app' in event ? { ...event, ...stamp, reconciler: childName(event.app) } : { ...event, ...stamp });
  };
  /** The sink inventory in which the fleet records its applications' names. */
  const recordOwner = `fleet:${options.name}`;
  let suspended = false;
  let passStartedAt = 0;
  /** Names the last successful read of the spec folder declares. */
  let declared = new Set<string>();
  /** Applications suspended through `suspendApp`, as recorded. */
  let suspendedApps = new Set<string>();
  /** The record as last read or written. */
  let recorded: FleetRecord = { apps: [], suspended: [] };
  /** Fleet passes and record edits run one at a time, so neither overwrites the other's record. */
  let exclusive: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(fn);
    exclusive = run.catch(() => undefined);
    return run;
  };
  const { shard, writeGuard } = options;
  /** An application's write guard: the fleet's guard and, when sharded, ownership of the application. */
  const guardOf = (app: { name: string; shard?: string | undefined }): WriteGuard | undefined =>
    !shard && !writeGuard
      ? undefined
      : {
          mayWrite: () => (writeGuard?.mayWrite() ?? true) && (shard?.owns(app) ?? true),
          describe: () => [writeGuard?.describe?.(), shard?.describe?.()].filter(Boolean).join('; '),
        };
  const recordApp = { name: recordOwner };
  /** The sink as the fleet's own record sees it: guarded by the fleet's guard (and, sharded, by owning the record). */
  const sink = guardSink(options.sink, guardOf(recordApp), recordOwner);
  const isSuspended = (spec: TSpec): boolean => suspended || spec.suspend === true || suspendedApps.has(spec.name);

  const passTimeoutMs = options.passTimeoutMs ?? 600_000;
  const maxConcurrentPasses = options.maxConcurrentPasses ?? 16;
  if (!(maxConcurrentPasses >= 1)) throw new InvalidOptionsError(`fleet ${options.name}: maxConcurrentPasses must be at least 1 (Infinity for no bound), got ${maxConcurrentPasses}`, { option: 'maxConcurrentPasses' });
  /** Slots shared by the applications' passes. */
  const passSlots = new Semaphore(maxConcurrentPasses);
  const loop: PassLoop<FleetResult> = new PassLoop({
    clock,
    intervalMs: options.intervalMs ?? 60_000,
    jitter: options.jitter ?? 0.1,
    random,
    retry: options.retry ?? exponentialBackoff({ random }),
    run: (reason, signal) => oneAtATime(() => pass(reason, signal)),
    errorOf: (r) => (r.status === 'failed' ? r.error : undefined),
    timeoutMs: passTimeoutMs,
    cancelled,
    // A fleet pass is dropped only while the fleet is suspended (the fleet stops its loop without abort, and its passes take no signal).
    dropped: (why, reason) => (why === 'aborted' ? cancelled(reason) : { added: [], updated: [], removed: [], apps: {}, status: 'skipped' }),
    settled: (result, next) => {
      if (result.status === 'failed') emit({ type: 'fleet.pass.failed', error: result.error, durationMs: clock.now() - passStartedAt, ...next, ...(result.revision && { revision: result.revision }) });
    },
  });

  function cancelled(reason: unknown): FleetResult {
    return { added: [], updated: [], removed: [], apps: {}, status: 'failed', error: (state.lastError = cancelledPassError(options.name, passTimeoutMs, reason)) };
  }

  async function pass(reason: PassReason, signal: AbortSignal): Promise<FleetResult> {
    const done: FleetResultBase = { added: [], updated: [], removed: [], apps: {} };
    // Push mode (`reconcile()` on a fleet that is not started) runs every application's pass
    // in this pass. Decided now: stop() during a pull-mode pass must not turn it into one.
    const push = !loop.running;
    const startedAt = (passStartedAt = clock.now());
    emit({ type: 'fleet.pass.started', reason });
    let revision: string | undefined;
    try {
      if (writeGuard && !writeGuard.mayWrite()) throw new NotLeaderError(options.name, 'start a fleet pass', writeGuard.describe?.());
      revision = await options.source.latestRevision({ signal });
      const artifact = await options.source.fetch(revision, { signal });
      const specs = (await readAppSpecFiles(artifact.files, options.path)).map(({ file, spec }) => parse(spec, file));
      checkDependencies(specs);
      await sync(specs, done, signal);
      declared = new Set(specs.map((s) => s.name));
      if (push && !loop.running) await reconcileAll(specs, done, signal);
      state.lastAppliedRevision = revision;
      delete state.lastError;
      emit({ type: 'fleet.pass.succeeded', revision, apps: specs.length, added: done.added, updated: done.updated, removed: done.removed, durationMs: clock.now() - startedAt });
      return { ...done, status: 'succeeded', revision };
    } catch (thrown) {
      const error = (state.lastError = toConvergeError(thrown));
      return { ...done, status: 'failed', error, ...(revision !== undefined && { revision }) };
    }
  }

  function parse(spec: AppSpec, file: string): TSpec {
    try {
      return parseSpec(spec, { file });
    } catch (thrown) {
      if (thrown instanceof AppSpecError) throw thrown;
      throw new AppSpecError(`${file}: ${thrown instanceof Error ? thrown.message : String(thrown)}`, { file }, { cause: thrown });
    }
  }

  async function sync(specs: TSpec[], result: FleetResultBase, signal: AbortSignal): Promise<void> {
    const wanted = new Map(specs.map((s) => [s.name, s]));
    // Applications recorded by an earlier run (this process or one before a restart) whose files
    // are gone: torn down like any other removal, so nothing is orphaned across restarts.
    recorded = await readRecord(signal);
    // The record says which applications are suspended (another replica may have changed it);
    // a suspension ends with its application.
    suspendedApps = new Set(recorded.suspended.filter((name) => wanted.has(name)));
    for (const app of recorded.apps) {
      // Sharded, a removed application is torn down by its owner only.
      if (!wanted.has(app.name) && !children.has(app.name) && !leaving.has(app.name) && (shard?.owns(app) ?? true)) leaving.set(app.name, app);
    }
    // Sharded, applications other replicas are still tearing down stay recorded until they are gone.
    const othersLeaving = shard ? await stillLeaving(recorded.apps.filter((a) => !wanted.has(a.name) && !leaving.has(a.name) && !children.has(a.name)), signal) : [];
    // Record every application before any of them applies anything.
    await record([...specs, ...leaving.values(), ...[...children.values()].map((c) => c.spec), ...othersLeaving], suspendedApps, signal);
    for (const [app, child] of children) {
      const spec = wanted.get(app);
      if (!spec) {
        children.delete(app);
        child.off();
        await child.reconciler.stop();
        leaving.set(app, child.spec);
      } else if (shard && !shard.owns(spec)) {
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
      const error = await teardown(spec, signal);
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
      if (existing?.key === key) {
        followSuspension(existing);
        continue;
      }
      if (existing) {
        existing.off();
        await existing.reconciler.stop();
      }
      const child = await createChild(spec, key);
      children.set(spec.name, child);
      (existing ? result.updated : result.added).push(spec.name);
      emit({ type: existing ? 'app.updated' : 'app.added', app: spec.name });
      // A suspended application is started too: it waits, suspended, for its resume.
      if (loop.running) child.reconciler.start();
    }
    await record([...specs, ...leaving.values(), ...othersLeaving], suspendedApps, signal);
  }

  /** Suspends or resumes a running application as the fleet says it should be now (e.g. after another replica changed the record). */
  function followSuspension(child: Child<TSpec>): void {
    const want = isSuspended(child.spec);
    if (want === child.reconciler.status().suspended) return;
    if (want) child.reconciler.suspend();
    else child.reconciler.resume();
  }

  /**
   * Writes the fleet's record (its applications, with the shard labels of pinned ones, and the
   * suspended ones) if it differs from what is recorded. Sharded, only the replica owning the
   * record writes it.
   */
  async function record(apps: RecordedApp[], suspensions = suspendedApps, signal?: AbortSignal): Promise<void> {
    if (shard && !shard.owns(recordApp)) return;
    const byName = new Map(apps.map((a) => [a.name, { name: a.name, ...(a.shard && { shard: a.shard }) }]));
    const next: FleetRecord = { apps: [...byName.values()], suspended: [...suspensions].filter((name) => byName.has(name)) };
    if (recordKey(next) === recordKey(recorded)) return;
    await sink.writeInventory(recordOwner, recordRefs(next), { signal });
    recorded = next;
  }

  /** The fleet's record. Sharded, another replica may have rewritten it since this one read it: that is read again, not an error. */
  async function readRecord(signal: AbortSignal): Promise<FleetRecord> {
    try {
      return recordOf((await sink.readInventory(recordOwner, { signal })) ?? []);
    } catch (error) {
      if (!shard || toConvergeError(error).code !== 'CONCURRENT_WRITER') throw error;
      return recordOf((await sink.readInventory(recordOwner, { signal })) ?? []);
    }
  }

  /** Of recorded, removed applications another replica tears down, those whose inventory is not gone yet. */
  async function stillLeaving(apps: RecordedApp[], signal: AbortSignal): Promise<RecordedApp[]> {
    if (!shard?.owns(recordApp)) return [];
    const out: RecordedApp[] = [];
    for (const app of apps) {
      const inventory = await options.sink.readInventory(childName(app.name), { signal });
      if (inventory !== undefined && inventory.length > 0) out.push(app);
    }
    return out;
  }

  /** Records a suspension change (through the fleet's guarded record) and applies it to the running application. */
  function setSuspended(name: string, on: boolean): Promise<boolean> {
    return oneAtATime(async () => {
      if (!declared.has(name)) return false;
      if (suspendedApps.has(name) !== on) {
        const next = new Set(suspendedApps);
        if (on) next.add(name);
        else next.delete(name);
        if (shard && !shard.owns(recordApp)) throw new NotLeaderError(options.name, `record that ${name} is ${on ? 'suspended' : 'resumed'}`, shard.describe?.());
        await record(recorded.apps, next);
        suspendedApps = next;
        emit({ type: on ? 'app.suspended' : 'app.resumed', app: name });
      }
      const child = children.get(name);
      if (child) followSuspension(child);
      return true;
    });
  }

  async function createChild(spec: TSpec, key: string): Promise<Child<TSpec>> {
    const parts = await options.createApp(spec);
    const guard = guardOf(spec);
    const reconciler = createReconciler({
      ...options.appDefaults,
      name: childName(spec.name),
      source: parts.source,
      render: withNamespace(spec, parts.render),
      sink: options.sink,
      clock,
      random,
      passSlots,
      ...(guard && { writeGuard: guard }),
      prune: spec.prune ?? options.appDefaults?.prune ?? true,
      ...(spec.intervalMs !== undefined && { intervalMs: spec.intervalMs }),
      ...(spec.wait && { wait: spec.wait }),
      gates: [...(spec.dependsOn?.length ? [dependenciesReady(spec.dependsOn, (app) => children.get(app)?.reconciler.status())] : []), ...(parts.gates ?? [])],
    });
    if (isSuspended(spec)) reconciler.suspend();
    const off = reconciler.on('*', (e) => events.emit(e));
    return { spec, key, reconciler, off };
  }

  /**
   * Prunes everything a removed application applied, by running it once with nothing desired,
   * then removes its (now empty) inventory record where the sink can.
   */
  async function teardown(app: RecordedApp, signal: AbortSignal): Promise<ConvergeError | undefined> {
    const id = `${options.name}/removed/${app.name}`;
    const nothing: Source = { id, latestRevision: async () => 'removed', fetch: async () => ({ source: id, revision: 'removed', files: memoryFileTree({}) }) };
    // Tearing down a removed application deletes all of it by definition: no prune budget.
    const guard = guardOf(app);
    const reconciler = createReconciler({ name: childName(app.name), source: nothing, render: async () => [], sink: options.sink, prune: true, allowEmpty: true, pruneBudget: false, clock, ...(guard && { writeGuard: guard }) });
    const off = reconciler.on('*', (e) => events.emit(e));
    const result = await reconciler.reconcile({ signal });
    off();
    if (result.error) return result.error;
    try {
      await guardSink(options.sink, guard, childName(app.name)).deleteInventory?.(childName(app.name), { signal });
    } catch (thrown) {
      return toConvergeError(thrown);
    }
    return undefined;
  }

  async function reconcileAll(specs: TSpec[], result: FleetResultBase, signal: AbortSignal): Promise<void> {
    for (const spec of dependencyOrder(specs)) {
      const child = children.get(spec.name);
      // Sharded: another replica runs it.
      if (child) result.apps[spec.name] = await child.reconciler.reconcile({ signal });
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
      for (const child of children.values()) child.reconciler.start();
      loop.start();
    },
    async stop() {
      await loop.stop();
      await Promise.all([...children.values()].map((c) => c.reconciler.stop()));
    },
    trigger: (reason = 'trigger') => loop.trigger(reason),
    suspend() {
      suspended = true;
      if (loop.suspend()) emit({ type: 'fleet.suspended' });
      for (const child of children.values()) child.reconciler.suspend();
    },
    resume() {
      suspended = false;
      if (loop.suspended) emit({ type: 'fleet.resumed' });
      loop.resume();
      for (const child of children.values()) followSuspension(child);
    },
    suspendApp: (name) => setSuspended(name, true),
    resumeApp: (name) => setSuspended(name, false),
    status: () => ({
      name: options.name,
      phase: loop.phase,
      ...state,
      consecutiveFailures: loop.consecutiveFailures,
      suspendedApps: [...suspendedApps].sort(),
      apps: Object.fromEntries([...children].map(([app, c]) => [app, { ...c.reconciler.status(), spec: c.spec }])),
    }),
    app: (name) => children.get(name)?.reconciler,
    on: (type, fn) => events.on(type, fn),
  };
}
