import type { ChangeCounts } from './change.js';
import { systemClock, type Clock } from './clock.js';
import { cancelledPassError } from './cancelled-pass-error.js';
import { InvalidOptionsError, toConvergeError } from './errors.js';
import type { PassReason, ReconcileEvent, ReconcileEventType } from './events.js';
import type { Gate } from './gate.js';
import type { IgnoreRule } from './ignore-rules.js';
import { Emitter } from './emitter.js';
import { sameRefs } from './internal/ref-set.js';
import type { PassEmit } from './internal/pass-emit.js';
import { renamedOption } from './internal/renamed-option.js';
import { PassLoop } from './pass-loop.js';
import { preparePass, runPass, type PassConfig, type PassMemory } from './internal/run-pass.js';
import type { ObjectRef } from './object.js';
import type { Plan } from './plan.js';
import { redactError } from './redact.js';
import type { HealthOptions } from './health/compute-health.js';
import type { ReconcileResult, ReconcilerStatus, PassRecord } from './reconciler-status.js';
import type { Renderer } from './renderer.js';
import { exponentialBackoff, type RetryPolicy } from './retry-policy.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';
import { guardSink } from './guarded-sink.js';
import type { Semaphore } from './semaphore.js';
import { NotLeaderError, type WriteGuard } from './write-guard.js';

/** Options of {@link createReconciler}. */
export interface ReconcilerOptions {
  /** Unique name; it names the inventory and the owner annotation. */
  name: string;
  /** Where desired state comes from. */
  source: Source;
  /** How artifacts become objects. */
  render: Renderer;
  /** Where objects are applied. */
  sink: Sink;
  /** Time between passes in pull mode, in ms. @default 60000 */
  intervalMs?: number;
  /**
   * The name DESIGN.md gave `intervalMs`, kept working for 0.x; giving both with different
   * values is an `INVALID_OPTIONS` error.
   * @deprecated Use `intervalMs` (the same value, in ms).
   */
  interval?: number;
  /** Random spread added to each interval, as a fraction of it. @default 0.1 */
  jitter?: number;
  /** Delete objects that left the desired state (only ones in this reconciler's inventory). @default false */
  prune?: boolean;
  /** Allow an empty desired state (which prunes everything when `prune` is on). @default false */
  allowEmpty?: boolean;
  /** Plan and validate (sink dry-run) but persist nothing. @default false */
  dryRun?: boolean;
  /** Wait for applied objects to become healthy; the pass fails on `Failed` or timeout. @default false */
  wait?: false | WaitOptions;
  /** Checks that must pass before anything is applied. @default [] */
  gates?: readonly Gate[];
  /** Fields owned by other controllers, left out of diffs. @default [] */
  ignore?: readonly IgnoreRule[];
  /** Take over objects annotated with another reconciler as owner. @default false */
  adopt?: boolean;
  /**
   * Take over fields that other field managers own (server-side apply `force`), as Flux and
   * Argo CD do: Git wins. With `false`, a new revision that changes a field someone else owns
   * fails with `APPLY_CONFLICT` naming them (so an ignore rule can be added or the field
   * dropped from Git) and stays failed until that is resolved; drift corrections at the
   * revision last applied still force, so hand edits are always reverted.
   * @default true
   */
  forceConflicts?: boolean;
  /** Reuse the last render while the revision is unchanged (live state is still compared on every pass). @default true */
  reuseRender?: boolean;
  /** Retry policy after a failed pass. @default exponentialBackoff() */
  retry?: RetryPolicy;
  /** Start a pass when the sink reports drift (needs `sink.watch`), in pull mode. @default true */
  watchDrift?: boolean;
  /** Clock and timers. @default systemClock */
  clock?: Clock;
  /** Randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * The namespace for namespaced objects that name none, when their renderer recorded no
   * default (Helm's release namespace does), as `kubectl apply -n` does.
   * @default the sink's `defaultNamespace`, else `'default'`
   */
  defaultNamespace?: string;
  /**
   * Most objects a render may produce; more is a `TOO_MANY_OBJECTS` error before anything is
   * written (a wrong path that renders a whole monorepo, a generator gone wild).
   * @default 100000
   */
  maxObjects?: number;
  /**
   * How much of its inventory one pass may delete without approval: more than
   * `max(minCount, floor(inventory × maxFraction))` deletes stop the pass before it writes
   * anything, with `PRUNE_BUDGET_EXCEEDED` and a `prune.blocked` event (a wrong path or branch
   * otherwise prunes a whole application). Approve one revision with {@link Reconciler.approvePrune}
   * or `reconcile({ approvePrune: true })`; `false` turns the budget off.
   * @default { maxFraction: 0.5, minCount: 10 }
   */
  pruneBudget?: false | { maxFraction?: number; minCount?: number };
  /**
   * How long each wave may take to become healthy before the next one starts, when objects are
   * spread over several waves (`converge.dev/wave`, `argocd.argoproj.io/sync-wave`); with
   * `wait`, its timeout is used instead.
   * @default 300000
   */
  waveTimeoutMs?: number;
  /**
   * How long a hook (`PreSync`, `PostSync`, `SyncFail`; Argo CD and Helm hook annotations) may
   * run before it counts as failed.
   * @default 300000
   */
  hookTimeoutMs?: number;
  /**
   * Objects to delete and re-create when an apply fails because an immutable field changed,
   * besides objects annotated `converge.dev/force: enabled`. PersistentVolumeClaims,
   * PersistentVolumes and Namespaces are only re-created when annotated themselves.
   * @default () => false
   */
  recreate?: (ref: ObjectRef) => boolean;
  /**
   * Health for waves, hooks and `wait`: custom checks per `group/Kind` consulted before the
   * built-in kstatus rules (for your own CRDs), and whether LoadBalancer Services wait for an
   * address. See `computeHealth`.
   * @default {}
   */
  health?: Omit<HealthOptions, 'now'>;
  /**
   * Deadline of one pass in ms: a pass still running then is cancelled (its signal aborted)
   * and fails with a retryable `PASS_TIMEOUT`, and the loop goes on; a `trigger()` made meanwhile
   * runs next.
   * @default 600000 (10 minutes), plus `wait.timeoutMs` when waiting
   */
  passTimeoutMs?: number;
  /**
   * "May I write?", asked before a pass starts and right before every write (inventory record,
   * apply, delete, hooks), for running several replicas: only the holder of a Lease
   * (`createLeaderElector` in `@converge/kube-sink`), or of an application's shard, writes. A
   * pass that is refused fails with a retryable `NOT_LEADER` and writes nothing more. Dry runs
   * are not guarded.
   * @default none: every write is allowed
   */
  writeGuard?: WriteGuard;
  /**
   * A bound on passes shared with other reconcilers (a fleet gives its applications one, of
   * `maxConcurrentPasses`): every pass — the first, interval, trigger, drift, retry and
   * `reconcile()` — waits for a slot before it starts (phase `queued`, first come, first
   * served), and gives it back when it ends, failed or not. A queued pass that `suspend()` or
   * `stop()` reaches is dropped (`pass.skipped`, result `skipped`); one whose `reconcile()`
   * signal aborts fails with `ABORTED`; `trigger()` and drift while queued join the queued pass
   * (and get one of their own if that `reconcile()` gives up).
   * @default none: passes start at once
   */
  passSlots?: Semaphore;
}

/**
 * How a pass waits for the objects it applied to become healthy ({@link ReconcilerOptions.wait}):
 * `timeoutMs`, or `timeout`, the name DESIGN.md gave it, kept working for 0.x (both with
 * different values are an `INVALID_OPTIONS` error).
 */
export type WaitOptions = (
  | {
      /** Give up after this long, in ms: the pass fails with a retryable `HEALTH_TIMEOUT`. */
      timeoutMs: number;
      /** @deprecated Use `timeoutMs` (the same value, in ms). */
      timeout?: number;
    }
  | {
      /** @deprecated Use `timeoutMs` (the same value, in ms). */
      timeout: number;
      /** Give up after this long, in ms: the pass fails with a retryable `HEALTH_TIMEOUT`. */
      timeoutMs?: number;
    }
) & {
  /** Time between reads of the live objects (and of running hooks), in ms. @default 2000 */
  pollIntervalMs?: number;
};

/** Options of one {@link Reconciler.reconcile} call. */
export interface ReconcileOptions {
  /** Cancels this pass: it fails with `ABORTED` and writes nothing more (aborted before the pass started, it never starts). */
  signal?: AbortSignal;
  /** Allow this pass to prune beyond the prune budget. @default false */
  approvePrune?: boolean;
}

/** A running reconciler: one source, one renderer, one sink. */
export interface Reconciler {
  /** The reconciler's name. */
  readonly name: string;
  /** Runs one pass now (push mode), after any pass in flight. Never rejects: failures are in the result. */
  reconcile(options?: ReconcileOptions): Promise<ReconcileResult>;
  /**
   * Approves one prune beyond the prune budget: the next pass at `revision` (by default the
   * revision of the last pass, the one a `prune.blocked` event named) may delete what it plans.
   */
  approvePrune(revision?: string): void;
  /**
   * Renders and plans against live state without writing anything: what `reconcile()` would
   * do now. Print it with `formatPlan`. Rejects with a `ConvergeError` if rendering, a gate
   * or reading live state fails.
   */
  preview(options?: { signal?: AbortSignal }): Promise<{ revision: string; plan: Plan }>;
  /** Starts the pull loop: a pass now, then every `intervalMs` (with backoff after failures). */
  start(): void;
  /**
   * Stops the loop and drift watch; resolves when the pass in flight has finished (or, with
   * `abort`, was cancelled — and the `reconcile()` calls queued behind it never start: they
   * resolve `skipped`, with a `pass.skipped` event).
   */
  stop(options?: { abort?: boolean }): Promise<void>;
  /** Asks for a pass as soon as possible (e.g. from a webhook); coalesces with one in flight. */
  trigger(reason?: string): void;
  /** Stops automatic passes without uninstalling anything; `reconcile()` returns `skipped` meanwhile. */
  suspend(): void;
  /** Undoes {@link Reconciler.suspend} and runs a pass. */
  resume(): void;
  /** A snapshot of the reconciler's state. */
  status(): ReconcilerStatus;
  /** Subscribes to events of one type, or `'*'` for all; returns the unsubscribe function. */
  on<T extends ReconcileEventType | '*'>(
    type: T,
    fn: (event: T extends ReconcileEventType ? Extract<ReconcileEvent, { type: T }> : ReconcileEvent) => void,
  ): () => void;
}

const HISTORY = 10;
const ZERO: ChangeCounts = { created: 0, updated: 0, deleted: 0, unchanged: 0 };

/**
 * Creates a reconciler that makes `sink` match what `render` makes of `source`.
 *
 * @example
 * ```ts
 * const r = createReconciler({ name: 'web', source: directorySource('./deploy'), render: yamlFiles(), sink, prune: true });
 * r.on('*', (e) => console.log(e.type));
 * const result = await r.reconcile();   // push mode: one pass
 * r.start();                           // pull mode: keep it in sync
 * ```
 */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const intervalMs = renamedOption(options.name, 'intervalMs', options.intervalMs, 'interval', options.interval) ?? 60_000;
  const wait = options.wait ? resolveWait(options.name, options.wait) : false;
  const config: PassConfig = {
    name: options.name,
    source: options.source,
    render: options.render,
    sink: guardSink(options.sink, options.writeGuard, options.name),
    gates: options.gates ?? [],
    ignore: options.ignore ?? [],
    prune: options.prune ?? false,
    allowEmpty: options.allowEmpty ?? false,
    adopt: options.adopt ?? false,
    dryRun: options.dryRun ?? false,
    forceConflicts: options.forceConflicts ?? true,
    reuseRender: options.reuseRender ?? true,
    wait,
    clock,
    defaultNamespace: options.defaultNamespace,
    maxObjects: options.maxObjects ?? 100_000,
    waveTimeoutMs: options.waveTimeoutMs ?? 300_000,
    hookTimeoutMs: options.hookTimeoutMs ?? 300_000,
    recreate: options.recreate ?? (() => false),
    health: options.health ?? {},
    pruneBudget: options.pruneBudget === false ? false : { maxFraction: options.pruneBudget?.maxFraction ?? 0.5, minCount: options.pruneBudget?.minCount ?? 10 },
  };
  const passTimeoutMs = options.passTimeoutMs ?? 600_000 + (wait ? wait.timeoutMs : 0);
  const watchDrift = (options.watchDrift ?? true) && options.sink.watch !== undefined;

  const events = new Emitter<ReconcileEvent>();
  const memory: PassMemory = {};
  const state: Omit<ReconcilerStatus, 'phase' | 'suspended' | 'consecutiveFailures' | 'nextRunAt'> = { name: options.name, managedObjects: 0, history: [] };
  let watched: { refs: ObjectRef[]; stop: () => void } | undefined;

  const emit: PassEmit = (event) => events.emit({ ...event, reconciler: options.name, at: clock.now() });

  const loop: PassLoop<ReconcileResult> = new PassLoop({
    clock,
    intervalMs,
    jitter: options.jitter ?? 0.1,
    random,
    retry: options.retry ?? exponentialBackoff({ random }),
    run: pass,
    errorOf: (result) => result.error,
    settled,
    timeoutMs: passTimeoutMs,
    cancelled,
    dropped(why, reason, pass) {
      // An approval is for the pass it was given with: a dropped pass uses it up.
      approvals.delete(pass);
      if (why === 'aborted') return cancelled(reason);
      emit({ type: 'pass.skipped', reason: why });
      return { status: 'skipped', counts: { ...ZERO } };
    },
    slots: options.passSlots,
  });

  function cancelled(reason: unknown): ReconcileResult {
    const error = (state.lastError = cancelledPassError(options.name, passTimeoutMs, reason));
    return { status: 'failed', counts: { ...ZERO }, error, ...(state.lastAttemptedRevision && { revision: state.lastAttemptedRevision }) };
  }

  /** The pass in flight; passes never overlap. */
  let current: { reason: PassReason; startedAt: number } = { reason: 'start', startedAt: 0 };

  /** Passes (by reason) approved to exceed the prune budget. */
  const approvals = new Set<PassReason>();

  async function pass(reason: PassReason, signal: AbortSignal): Promise<ReconcileResult> {
    const approved = approvals.delete(reason);
    current = { reason, startedAt: clock.now() };
    emit({ type: 'pass.started', reason });
    let revision: string | undefined;
    try {
      // A replica that may not write does not even read: the holder does the work.
      if (options.writeGuard && !config.dryRun && !options.writeGuard.mayWrite()) throw new NotLeaderError(options.name, 'start a pass', options.writeGuard.describe?.());
      const outcome = await runPass(config, memory, emit, (r) => {
        state.lastAttemptedRevision = revision = r;
        if (approved) memory.pruneApproved = r;
      }, signal);
      if (!config.dryRun) {
        memory.lastAppliedRevision = state.lastAppliedRevision = outcome.revision;
        state.managedObjects = outcome.managed.length;
        if (loop.running) watch(outcome.managed);
      }
      delete state.lastError;
      return { status: 'succeeded', revision: outcome.revision, counts: outcome.counts, driftCorrected: outcome.driftCorrected, dryRun: config.dryRun };
    } catch (thrown) {
      const error = (state.lastError = redactError(toConvergeError(thrown), memory.rendered?.sensitive ?? new Set()));
      return { status: 'failed', counts: { ...ZERO }, error, ...(revision && { revision }) };
    }
  }

  /** Records and reports a finished pass, once the loop has scheduled the next one. */
  function settled(result: ReconcileResult, next: { retryInMs?: number }): void {
    if (result.status === 'skipped') return;
    const durationMs = clock.now() - current.startedAt;
    const entry: PassRecord = { result: result.status, reason: current.reason, startedAt: current.startedAt, durationMs, counts: result.counts };
    if (result.revision) entry.revision = result.revision;
    if (result.status === 'failed') entry.error = { code: result.error.code, message: result.error.message };
    state.history = [...state.history, entry].slice(-HISTORY);
    if (result.status === 'succeeded') {
      emit({ type: 'pass.succeeded', revision: result.revision, counts: result.counts, durationMs, driftCorrected: result.driftCorrected });
    } else {
      emit({ type: 'pass.failed', error: result.error, durationMs, ...(result.revision && { revision: result.revision }), ...next });
    }
  }

  function watch(refs: ObjectRef[]): void {
    if (!watchDrift || (watched && sameRefs(watched.refs, refs))) return;
    watched?.stop();
    const stop = options.sink.watch!(refs, (drift) => {
      emit({ type: 'drift.detected', ref: drift.ref, via: 'watch' });
      loop.trigger('drift');
    });
    watched = { refs, stop };
  }

  return {
    name: options.name,
    reconcile(o = {}) {
      if (o.approvePrune) approvals.add('manual');
      return loop.enqueue('manual', o.signal);
    },
    approvePrune(revision) {
      const approved = revision ?? state.lastAttemptedRevision;
      if (approved !== undefined) memory.pruneApproved = approved;
    },
    async preview(o = {}) {
      const scratch: PassMemory = { ...memory };
      try {
        const prepared = await preparePass({ ...config, dryRun: true }, scratch, emit, () => undefined, o.signal ?? new AbortController().signal);
        return { revision: prepared.revision, plan: prepared.plan };
      } catch (thrown) {
        throw redactError(toConvergeError(thrown), scratch.rendered?.sensitive ?? new Set());
      }
    },
    start: () => loop.start(),
    async stop(o = {}) {
      watched?.stop();
      watched = undefined;
      await loop.stop(o);
    },
    trigger: (reason = 'trigger') => loop.trigger(reason),
    suspend() {
      if (loop.suspend()) emit({ type: 'suspended' });
    },
    resume() {
      if (loop.suspended) emit({ type: 'resumed' });
      loop.resume();
    },
    status: () => ({
      ...state,
      phase: loop.phase,
      suspended: loop.suspended,
      consecutiveFailures: loop.consecutiveFailures,
      ...(loop.nextRunAt !== undefined && { nextRunAt: loop.nextRunAt }),
      history: state.history.map((h) => ({ ...h, counts: { ...h.counts } })),
    }),
    on: (type, fn) => events.on(type, fn),
  };
}

function resolveWait(reconciler: string, wait: WaitOptions): PassConfig['wait'] {
  const timeoutMs = renamedOption(reconciler, 'wait.timeoutMs', wait.timeoutMs, 'wait.timeout', wait.timeout);
  if (timeoutMs === undefined) throw new InvalidOptionsError(`${reconciler}: wait needs timeoutMs, how long to wait for health in ms`, { option: 'wait.timeoutMs' });
  return { timeoutMs, pollIntervalMs: wait.pollIntervalMs ?? 2000 };
}
