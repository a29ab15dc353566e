import type { Clock, TimerHandle } from './clock.js';
import type { ConvergeError } from './errors.js';
import type { PassReason } from './events.js';
import type { ReconcilerPhase } from './reconciler-status.js';
import type { RetryPolicy } from './retry-policy.js';
import type { Semaphore } from './semaphore.js';

/** Why a pass was dropped before it started: see {@link PassLoopOptions.dropped}. */
export type DroppedPassReason = 'suspended' | 'stopped' | 'aborted';

/** Options of {@link PassLoop}. */
export interface PassLoopOptions<R> {
  /** Schedules passes and measures time. */
  clock: Clock;
  /** Time between passes in pull mode, in ms. */
  intervalMs: number;
  /** Random spread added to each interval, as a fraction of it (`0.1`: up to 10 % later). */
  jitter: number;
  /** Source of randomness for the jitter, in [0, 1). */
  random: () => number;
  /** Whether and when a failed pass is retried before the next interval. */
  retry: RetryPolicy;
  /** Runs one pass. Must not reject: a failure is a result for which `errorOf` returns the error. */
  run(reason: PassReason, signal: AbortSignal): Promise<R>;
  /** The error of a failed pass result, or `undefined` for a success. */
  errorOf(result: R): ConvergeError | undefined;
  /** Called after each pass once the next one is scheduled; `retryInMs` is set when a retry was scheduled. */
  settled(result: R, next: { retryInMs?: number }): void;
  /** Deadline of one pass in ms; when it passes, the pass's signal is aborted with a `TimeoutError`. */
  timeoutMs?: number;
  /**
   * The result of a pass whose signal was aborted (deadline, `stop({ abort })`, the caller's
   * signal) before it finished: the loop does not wait for a pass that ignores its signal.
   */
  cancelled?(reason: unknown): R;
  /**
   * The result of a pass dropped before it started (neither `run` nor `settled` is called for
   * it): its turn came while the loop was suspended (`'suspended'`), after a `stop({ abort })`
   * called since it was enqueued (`'stopped'`), or after its caller's signal aborted
   * (`'aborted'`, `reason` is then the signal's reason); with `slots`, also while it waited for
   * a slot. `pass` is the reason it was asked for with, as `run` would have been given it.
   */
  dropped(why: DroppedPassReason, reason: unknown, pass: PassReason): R;
  /**
   * A bound shared with other loops (a fleet's `maxConcurrentPasses`): each pass first waits
   * for one of these slots (phase `queued`; first come, first served, so a pass waits only for
   * those queued before it), holds it while it runs, deadline included, and gives it back when
   * it settles, failed or not. A queued pass that never started takes no slot and is dropped
   * (see `dropped`): by `suspend()` (`'suspended'`), `stop()` (`'stopped'`, with or without
   * `abort`; stop does not wait for it) or its caller's signal (`'aborted'`). A `trigger()` while
   * a pass is queued joins it; if its caller's signal drops that pass, the trigger gets a pass of
   * its own.
   */
  slots?: Semaphore;
}

/**
 * The scheduling shared by reconcilers and fleets, for runtimes of your own: passes run one at
 * a time; in pull mode a pass runs at start, then every interval (± jitter), after failures
 * with the retry policy's delay, and at once on trigger (coalesced with a pass in flight);
 * suspend stops automatic passes; a pass that may no longer start when its turn comes is
 * dropped (`dropped`). What a pass does is `run`'s business.
 *
 * @example
 * ```ts
 * const loop = new PassLoop<{ error?: ConvergeError }>({
 *   clock: systemClock, intervalMs: 60_000, jitter: 0.1, random: Math.random, retry: exponentialBackoff(),
 *   run: async (reason, signal) => ({}),
 *   errorOf: (result) => result.error,
 *   settled: (result, next) => console.log(next.retryInMs ?? 'next interval'),
 *   dropped: (why) => ({}), // a pass that never started: suspended, stopped with abort, or given up by its caller
 * });
 * loop.start();
 * ```
 */
export class PassLoop<R> {
  /** Where the loop is: `reconciling`, `queued` (waiting for a slot of `slots`), `idle` (waiting for the next pass), `backoff`, `suspended` or `stopped`. */
  phase: ReconcilerPhase = 'stopped';
  /** Whether automatic passes are suspended. */
  suspended = false;
  /** Failed passes in a row; 0 after a success. */
  consecutiveFailures = 0;
  /** When the next automatic pass is due (clock ms), if one is scheduled. */
  nextRunAt: number | undefined;
  #running = false;
  #timer: TimerHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight: AbortController | undefined;
  /** Aborted with a {@link DroppedPassReason} to drop the pass waiting for a slot. */
  #queued: AbortController | undefined;
  #requested: PassReason | undefined;
  /** How many times `stop({ abort })` was called: a pass enqueued before one of them is cancelled too. */
  #abortingStops = 0;
  /** How many times `start()` started the loop: a pass that settles after a later start belongs to an earlier run. */
  #starts = 0;
  /** A trigger that came while a pass was queued: served by that pass, or by one of its own if the caller drops it. */
  #joined: PassReason | undefined;

  /** Creates a stopped loop; nothing runs until {@link PassLoop.start} or {@link PassLoop.enqueue}. */
  constructor(private readonly o: PassLoopOptions<R>) {}

  /** Whether the loop is started. */
  get running(): boolean {
    return this.#running;
  }

  /** Runs a pass after any pass in flight; `signal` cancels that pass (or drops it before it starts). */
  enqueue(reason: PassReason, signal?: AbortSignal): Promise<R> {
    const stops = this.#abortingStops;
    const pass = this.#queue.then(() => this.#pass(reason, signal, stops));
    this.#queue = pass.catch(() => undefined);
    return pass;
  }

  /**
   * Pull mode: a pass now (unless suspended), then one per interval. Called before a `stop()`
   * resolved, the new run's first pass follows the pass in flight, and that pass's end neither
   * schedules one nor sets the phase.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#starts++;
    if (this.suspended) this.phase = 'suspended';
    else this.#schedule(0, 'start');
  }

  /**
   * Stops scheduling passes; resolves once the pass in flight and those enqueued before ended
   * (with `abort`, they are all cancelled: the one in flight has its signal aborted, the others
   * never start: they are dropped as `'stopped'`).
   */
  async stop(options: { abort?: boolean } = {}): Promise<void> {
    this.#running = false;
    this.#cancelTimer();
    this.#queued?.abort('stopped');
    if (options.abort) {
      this.#abortingStops++;
      this.#inFlight?.abort(stopReason());
    }
    await this.#queue;
    // Unless start() came meanwhile: the phase is then the new run's.
    if (!this.#running) this.phase = this.suspended ? 'suspended' : 'stopped';
  }

  /** Asks for a pass as soon as possible; while one runs, one more follows it (however many triggers came). */
  trigger(reason: PassReason): void {
    if (this.suspended) return;
    if (this.phase === 'queued') {
      this.#joined ??= reason; // a queued pass has not started: it serves this trigger
      return;
    }
    if (this.#running && this.phase === 'reconciling') this.#requested = reason;
    else if (this.#running) this.#schedule(0, reason);
    else void this.enqueue(reason);
  }

  /** Stops automatic passes; returns false if already suspended. */
  suspend(): boolean {
    if (this.suspended) return false;
    this.suspended = true;
    this.#cancelTimer();
    this.#queued?.abort('suspended');
    if (this.phase !== 'reconciling') this.phase = 'suspended';
    return true;
  }

  /** Undoes {@link PassLoop.suspend}, with a pass at once when started; returns false if not suspended. */
  resume(): boolean {
    if (!this.suspended) return false;
    this.suspended = false;
    if (this.#running) this.#schedule(0, 'resume');
    else this.phase = 'stopped';
    return true;
  }

  /** Runs the pass whose turn came, unless it is dropped; `stops` is `#abortingStops` when it was enqueued. */
  async #pass(reason: PassReason, callerSignal: AbortSignal | undefined, stops: number): Promise<R> {
    const previous = this.phase;
    let release: (() => void) | undefined;
    if (this.o.slots && this.#unwanted(callerSignal, stops) === undefined) {
      const slot = await this.#slot(this.o.slots, callerSignal);
      if ('dropped' in slot) return this.#drop(slot.dropped, slot.reason, reason, previous);
      release = slot.release;
    }
    // Checked again in the tick the pass starts: a stop({ abort }) in between would find nothing to abort.
    const unwanted = this.#unwanted(callerSignal, stops);
    if (unwanted !== undefined) {
      release?.();
      return this.#drop(unwanted, callerSignal?.reason, reason, previous);
    }
    this.#joined = undefined; // served by this pass
    const starts = this.#starts;
    const controller = (this.#inFlight = new AbortController());
    const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    this.phase = 'reconciling';
    let result: R;
    let deadline: TimerHandle | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const run = this.o.run(reason, controller.signal);
      const { timeoutMs, cancelled } = this.o;
      if (timeoutMs !== undefined) {
        deadline = this.o.clock.setTimeout(
          () => controller.abort(new DOMException(`the pass exceeded its deadline of ${timeoutMs} ms`, 'TimeoutError')),
          timeoutMs,
        );
      }
      result = !cancelled
        ? await run
        : await Promise.race([
            run,
            new Promise<R>((resolve) => {
              onAbort = () => resolve(cancelled(controller.signal.reason));
              if (controller.signal.aborted) onAbort();
              else controller.signal.addEventListener('abort', onAbort, { once: true });
            }),
          ]);
    } finally {
      release?.();
      if (deadline !== undefined) this.o.clock.clearTimeout(deadline);
      if (onAbort) controller.signal.removeEventListener('abort', onAbort);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      this.#inFlight = undefined;
    }
    const error = this.o.errorOf(result);
    this.consecutiveFailures = error ? this.consecutiveFailures + 1 : 0;
    let retryInMs: number | undefined;
    if (!this.#running) this.phase = this.suspended ? 'suspended' : 'stopped';
    else if (starts === this.#starts) retryInMs = this.#scheduleAfter(error);
    // Else stopped and started again while this pass ran: the new run has scheduled its first pass and set the phase.
    this.o.settled(result, retryInMs === undefined ? {} : { retryInMs });
    return result;
  }

  /** Why a pass whose turn came must not start, if it must not: see {@link PassLoopOptions.dropped}. */
  #unwanted(callerSignal: AbortSignal | undefined, stops: number): DroppedPassReason | undefined {
    if (stops !== this.#abortingStops) return 'stopped';
    if (this.suspended) return 'suspended';
    if (callerSignal?.aborted) return 'aborted';
    return undefined;
  }

  /** Waits for a slot, or says why the pass was dropped from the queue. */
  async #slot(semaphore: Semaphore, callerSignal: AbortSignal | undefined): Promise<{ release: () => void } | { dropped: DroppedPassReason; reason: unknown }> {
    const queued = (this.#queued = new AbortController());
    this.phase = 'queued';
    const signal = callerSignal ? AbortSignal.any([queued.signal, callerSignal]) : queued.signal;
    try {
      const release = await semaphore.acquire(signal);
      // Granted, but dropped in the same tick before this pass could start: give the slot back.
      if (signal.aborted) {
        release();
        throw signal.reason;
      }
      return { release };
    } catch (reason) {
      return { dropped: queued.signal.aborted ? (queued.signal.reason as DroppedPassReason) : 'aborted', reason };
    } finally {
      this.#queued = undefined;
    }
  }

  /** The result of a pass that is dropped before it started; `previous` is the phase before it was queued. */
  #drop(why: DroppedPassReason, reason: unknown, pass: PassReason, previous: ReconcilerPhase): R {
    // Unless start(), suspend() or resume() set the phase meanwhile: a pass its caller dropped
    // leaves the loop as it was (its next pass is still scheduled), a stopped one leaves it stopped.
    if (this.phase === 'queued') this.phase = why === 'aborted' ? previous : this.suspended ? 'suspended' : 'stopped';
    const joined = this.#joined;
    this.#joined = undefined;
    // A trigger that joined this pass still wants one.
    if (why === 'aborted' && joined !== undefined) this.trigger(joined);
    return this.o.dropped(why, reason, pass);
  }

  /** Schedules the next pass; returns the delay when it is a retry. */
  #scheduleAfter(error: ConvergeError | undefined): number | undefined {
    if (this.suspended) {
      this.phase = 'suspended';
      return undefined;
    }
    if (this.#requested !== undefined) {
      const reason = this.#requested;
      this.#requested = undefined;
      this.#schedule(0, reason);
      return undefined;
    }
    if (error && this.o.retry.shouldRetry(error, this.consecutiveFailures)) {
      const delay = this.o.retry.delay(this.consecutiveFailures);
      this.#schedule(delay, 'retry');
      this.phase = 'backoff';
      return delay;
    }
    this.#schedule(Math.round(this.o.intervalMs * (1 + this.o.jitter * this.o.random())), 'interval');
    return undefined;
  }

  #schedule(ms: number, reason: PassReason): void {
    this.#cancelTimer();
    this.phase = 'idle';
    this.nextRunAt = this.o.clock.now() + ms;
    this.#timer = this.o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.nextRunAt = undefined;
      void this.enqueue(reason);
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) this.o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.nextRunAt = undefined;
  }
}

function stopReason(): DOMException {
  return new DOMException('the reconciler was stopped', 'AbortError');
}
