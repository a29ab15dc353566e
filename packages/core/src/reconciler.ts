import type { ChangeCounts } from './change.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { toConvergeError } from './errors.js';
import type { PassReason, ReconcileEvent, ReconcileEventType } from './events.js';
import type { Gate } from './gate.js';
import type { IgnoreRule } from './ignore-rules.js';
import { Emitter } from './internal/emitter.js';
import { sameRefs } from './internal/ref-set.js';
import { runPass, type PassConfig, type PassMemory } from './internal/run-pass.js';
import type { ObjectRef } from './object.js';
import type { ReconcileResult, ReconcilerStatus, PassRecord } from './reconciler-status.js';
import type { Renderer } from './renderer.js';
import { exponentialBackoff, type RetryPolicy } from './retry-policy.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';

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
  wait?: false | { timeout: number; /** @default 2000 */ pollInterval?: number };
  /** Checks that must pass before anything is applied. @default [] */
  gates?: readonly Gate[];
  /** Fields owned by other controllers, left out of diffs. @default [] */
  ignore?: readonly IgnoreRule[];
  /** Take over objects annotated with another reconciler as owner. @default false */
  adopt?: boolean;
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
}

/** A running reconciler: one source, one renderer, one sink. */
export interface Reconciler {
  /** The reconciler's name. */
  readonly name: string;
  /** Runs one pass now (push mode), after any pass in flight. Never rejects: failures are in the result. */
  reconcile(): Promise<ReconcileResult>;
  /** Starts the pull loop: a pass now, then every `interval` (with backoff after failures). */
  start(): void;
  /** Stops the loop and drift watch; resolves when the pass in flight has finished (or, with `abort`, was cancelled). */
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
  const interval = options.interval ?? 60_000;
  const jitter = options.jitter ?? 0.1;
  const retry = options.retry ?? exponentialBackoff({ random });
  const config: PassConfig = {
    name: options.name,
    source: options.source,
    render: options.render,
    sink: options.sink,
    gates: options.gates ?? [],
    ignore: options.ignore ?? [],
    prune: options.prune ?? false,
    allowEmpty: options.allowEmpty ?? false,
    adopt: options.adopt ?? false,
    dryRun: options.dryRun ?? false,
    reuseRender: options.reuseRender ?? true,
    wait: options.wait ? { timeout: options.wait.timeout, pollInterval: options.wait.pollInterval ?? 2000 } : false,
    clock,
  };
  const watchDrift = (options.watchDrift ?? true) && options.sink.watch !== undefined;

  const events = new Emitter<ReconcileEvent>();
  const memory: PassMemory = {};
  const state: ReconcilerStatus = { name: options.name, phase: 'stopped', suspended: false, consecutiveFailures: 0, managedObjects: 0, history: [] };
  let running = false;
  let timer: TimerHandle | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let inFlight: AbortController | undefined;
  let requested: string | undefined;
  let watched: { refs: ObjectRef[]; stop: () => void } | undefined;

  const emit = (event: Record<string, unknown> & { type: ReconcileEventType }) =>
    events.emit({ ...event, reconciler: options.name, at: clock.now() } as ReconcileEvent);

  function enqueue(reason: PassReason): Promise<ReconcileResult> {
    const pass = queue.then(() => pass_(reason));
    queue = pass.catch(() => undefined);
    return pass;
  }

  async function pass_(reason: PassReason): Promise<ReconcileResult> {
    if (state.suspended) {
      emit({ type: 'pass.skipped', reason: 'suspended' });
      return { status: 'skipped', counts: { ...ZERO } };
    }
    const startedAt = clock.now();
    const controller = (inFlight = new AbortController());
    state.phase = 'reconciling';
    emit({ type: 'pass.started', reason });
    let revision: string | undefined;
    let result: ReconcileResult;
    try {
      const outcome = await runPass(config, memory, emit, (r) => (state.lastAttemptedRevision = revision = r), controller.signal);
      result = { status: 'succeeded', revision: outcome.revision, counts: outcome.counts, driftCorrected: outcome.driftCorrected, dryRun: config.dryRun };
      if (!config.dryRun) {
        memory.lastAppliedRevision = state.lastAppliedRevision = outcome.revision;
        state.managedObjects = outcome.managed.length;
        if (running) watch(outcome.managed);
      }
      state.consecutiveFailures = 0;
      delete state.lastError;
      emit({ type: 'pass.succeeded', revision: outcome.revision, counts: outcome.counts, durationMs: clock.now() - startedAt, driftCorrected: outcome.driftCorrected });
    } catch (thrown) {
      const error = toConvergeError(thrown);
      state.consecutiveFailures++;
      state.lastError = error;
      result = { status: 'failed', counts: { ...ZERO }, error, ...(revision && { revision }) };
      const retryInMs = running && !state.suspended && retry.shouldRetry(error, state.consecutiveFailures) ? retry.delay(state.consecutiveFailures) : undefined;
      emit({ type: 'pass.failed', error, durationMs: clock.now() - startedAt, ...(revision && { revision }), ...(retryInMs !== undefined && { retryInMs }) });
    } finally {
      inFlight = undefined;
    }
    record(result, reason, startedAt);
    if (running) scheduleAfter(result);
    else state.phase = state.suspended ? 'suspended' : 'stopped';
    return result;
  }

  function record(result: ReconcileResult, reason: string, startedAt: number): void {
    const entry: PassRecord = { result: result.status, reason, startedAt, durationMs: clock.now() - startedAt, counts: result.counts };
    if (result.revision) entry.revision = result.revision;
    if (result.error) entry.error = { code: result.error.code, message: result.error.message };
    state.history = [...state.history, entry].slice(-HISTORY);
  }

  function scheduleAfter(result: ReconcileResult): void {
    if (state.suspended) return void (state.phase = 'suspended');
    if (requested !== undefined) {
      const reason = requested;
      requested = undefined;
      return schedule(0, reason);
    }
    if (result.status === 'failed' && retry.shouldRetry(result.error!, state.consecutiveFailures)) {
      schedule(retry.delay(state.consecutiveFailures), 'retry');
      state.phase = 'backoff';
      return;
    }
    schedule(Math.round(interval * (1 + jitter * random())), 'interval');
  }

  function schedule(ms: number, reason: PassReason): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    state.phase = 'idle';
    state.nextRunAt = clock.now() + ms;
    timer = clock.setTimeout(() => {
      timer = undefined;
      delete state.nextRunAt;
      void enqueue(reason);
    }, ms);
  }

  function cancelTimer(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    delete state.nextRunAt;
  }

  function watch(refs: ObjectRef[]): void {
    if (!watchDrift || (watched && sameRefs(watched.refs, refs))) return;
    watched?.stop();
    const stop = options.sink.watch!(refs, (drift) => {
      emit({ type: 'drift.detected', ref: drift.ref, via: 'watch' });
      trigger('drift');
    });
    watched = { refs, stop };
  }

  function trigger(reason = 'trigger'): void {
    if (state.suspended) return;
    if (running && state.phase === 'reconciling') requested = reason;
    else if (running) schedule(0, reason);
    else void enqueue(reason);
  }

  return {
    name: options.name,
    reconcile: () => enqueue('manual'),
    start() {
      if (running) return;
      running = true;
      if (state.suspended) state.phase = 'suspended';
      else schedule(0, 'start');
    },
    async stop(o = {}) {
      running = false;
      cancelTimer();
      watched?.stop();
      watched = undefined;
      if (o.abort) inFlight?.abort(new Error('reconciler stopped'));
      await queue;
      state.phase = state.suspended ? 'suspended' : 'stopped';
    },
    trigger,
    suspend() {
      if (state.suspended) return;
      state.suspended = true;
      cancelTimer();
      if (state.phase !== 'reconciling') state.phase = 'suspended';
      emit({ type: 'suspended' });
    },
    resume() {
      if (!state.suspended) return;
      state.suspended = false;
      emit({ type: 'resumed' });
      if (running) schedule(0, 'resume');
      else state.phase = 'stopped';
    },
    status: () => ({ ...state, history: state.history.map((h) => ({ ...h, counts: { ...h.counts } })) }),
    on: (type, fn) => events.on(type, fn as (e: ReconcileEvent) => void),
  };
}
