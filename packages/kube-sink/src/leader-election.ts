import { Emitter, sleep, systemClock, toConvergeError, type Clock, type ConvergeError, type EventWithout, type TimerHandle, type WriteGuard } from '@converge/core';
import { LeaseClient, LeaseObserver, leaseTransport, microTime, resolveLeaseTiming, type Lease, type LeaseConnection, type LeaseTiming } from './lease.js';

/** Options of {@link createLeaderElector}. */
export type LeaderElectorOptions = LeaseConnection &
  LeaseTiming & {
    /** The Lease to hold. Its namespace must exist. */
    lease: { namespace: string; name: string };
    /** This replica's identity, unique among the candidates (e.g. the pod name). */
    identity: string;
    /** Clock and timers; tests pass `FakeClock`. @default systemClock */
    clock?: Clock;
    /** Randomness in [0, 1) for the jitter of acquire attempts. @default Math.random */
    random?: () => number;
    /** On `stop()`, give the lease up at once (empty holder, 1 s duration) so another replica takes over without waiting it out. @default true */
    releaseOnStop?: boolean;
  };

/** Why leadership ended. */
export type LeaderLostReason = 'renew-deadline' | 'taken' | 'stopped';

/** Events of a {@link LeaderElector}, a discriminated union on `type`. */
export type LeaderEvent =
  | { type: 'leader.acquired'; identity: string; lease: string; at: number }
  | { type: 'leader.lost'; identity: string; lease: string; at: number; reason: LeaderLostReason }
  | { type: 'leader.observed'; identity: string; lease: string; at: number; holder: string | undefined }
  | { type: 'lease.failed'; identity: string; lease: string; at: number; error: ConvergeError };

/** The `type` of a {@link LeaderEvent}. */
export type LeaderEventType = LeaderEvent['type'];

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection` with
 * its Lease lock. It is a `WriteGuard` (from `@converge/core`): pass it as `writeGuard` to reconcilers and
 * fleets so only the leader writes.
 */
export interface LeaderElector extends WriteGuard {
  /** This replica's identity. */
  readonly identity: string;
  /** Starts campaigning: acquire when the lease is free or expired, then renew every retry period. */
  start(): void;
  /** Stops campaigning; when leading, stops writing and (by default) releases the lease. Resolves when done. */
  stop(): Promise<void>;
  /** Whether this replica is the leader and its last renewal is less than `renewDeadlineMs` old. */
  mayWrite(): boolean;
  /** Whether this replica considers itself leader (see {@link LeaderElector.mayWrite} for the fenced answer). */
  isLeader(): boolean;
  /** The holder last seen on the lease, if any. */
  holder(): string | undefined;
  /** Who holds the lease, for error messages. */
  describe(): string;
  /** Subscribes to one event type or `'*'`; returns the unsubscribe function. */
  on<T extends LeaderEventType | '*'>(type: T, fn: (event: T extends LeaderEventType ? Extract<LeaderEvent, { type: T }> : LeaderEvent) => void): () => void;
}

type AttemptResult = 'acquired' | 'held-by-other' | 'conflict';

/**
 * Creates a leader elector for one Lease. Acquire, renew and release follow client-go's
 * `tryAcquireOrRenew`: read the lease; take it if it is free, ours, or was not seen to change
 * for its duration; write it back with the resourceVersion read, so of two candidates racing
 * exactly one wins.
 *
 * Fencing is by timing, as client-go documents it. The leader counts its lease from the moment
 * it *sent* the renewal that succeeded; from `renewDeadlineMs` after that it answers
 * `mayWrite() === false` (and emits `leader.lost`) even if its renewal requests hang. Another
 * candidate waits `leaseDurationMs` from when it *saw* that renewal, which was after it was
 * sent; `leaseDurationMs > renewDeadlineMs`, so the old leader has stopped writing before the
 * new one may start. Caveats, as client-go's: this assumes clocks that run at about the same
 * rate (not the same time), and a write already sent when the deadline passes can still land
 * (keep passes and request timeouts well inside the gap, or stop reconcilers with
 * `stop({ abort: true })` on `leader.lost`); a process paused longer than the gap (a stopped
 * VM, a debugger) resumes with `mayWrite()` already false, because it is computed from the
 * clock. Use the inventory's `CONCURRENT_WRITER` check as defence in depth.
 *
 * @example
 * ```ts
 * const elector = createLeaderElector({ kubeConfig, lease: { namespace: 'converge-system', name: 'agent' }, identity: process.env.POD_NAME! });
 * const reconciler = createReconciler({ name: 'web', source, render, sink, writeGuard: elector });
 * elector.on('leader.acquired', () => reconciler.start());
 * elector.on('leader.lost', () => void reconciler.stop({ abort: true }));
 * elector.start();
 * ```
 */
export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const timing = resolveLeaseTiming(options);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const { namespace, name } = options.lease;
  const leaseName = `${namespace}/${name}`;
  const me = options.identity;
  const { transport, owned } = leaseTransport(options);
  const client = new LeaseClient(transport);
  const observer = new LeaseObserver();
  const listeners = new Emitter<LeaderEvent>();

  let leading = false;
  /** When the last successful acquire or renew was sent (clock ms). */
  let renewedAt = 0;
  let observedHolder: string | undefined;
  /** The lease as last read or written, for the resourceVersion precondition. */
  let current: Lease | undefined;
  let running: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let deadline: TimerHandle | undefined;
  /** Aborts the request in flight when the renew deadline passes. */
  let attemptController: AbortController | undefined;

  const emit = (event: EventWithout<LeaderEvent, 'identity' | 'lease' | 'at'>): void =>
    listeners.emit({ ...event, identity: me, lease: leaseName, at: clock.now() });

  function observeHolder(lease: Lease): void {
    const holder = lease.spec.holderIdentity || undefined;
    if (holder !== observedHolder) {
      observedHolder = holder;
      emit({ type: 'leader.observed', holder });
    }
  }

  function lose(reason: LeaderLostReason): void {
    if (!leading) return;
    leading = false;
    if (deadline !== undefined) clock.clearTimeout(deadline);
    deadline = undefined;
    attemptController?.abort(new DOMException('the renew deadline passed', 'TimeoutError'));
    emit({ type: 'leader.lost', reason });
  }

  /** After a successful renewal: leadership ends at `renewedAt + renewDeadlineMs` unless renewed again. */
  function armDeadline(): void {
    if (deadline !== undefined) clock.clearTimeout(deadline);
    deadline = clock.setTimeout(() => {
      deadline = undefined;
      lose('renew-deadline');
    }, Math.max(0, renewedAt + timing.renewDeadlineMs - clock.now()));
  }

  async function attempt(signal: AbortSignal): Promise<AttemptResult> {
    const sentAt = clock.now();
    const leaseDurationSeconds = Math.ceil(timing.leaseDurationMs / 1000);
    const lease = await client.get(namespace, name, signal);
    if (!lease) {
      const now = microTime(clock.now());
      const created = await client.create(
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace, name }, spec: { holderIdentity: me, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        signal,
      );
      if (!created.ok) return 'conflict';
      return won(created.lease, sentAt);
    }
    current = lease;
    observeHolder(lease);
    const holder = lease.spec.holderIdentity;
    if (holder && holder !== me && observer.held(lease, clock.now(), timing.leaseDurationMs)) return 'held-by-other';
    observer.observe(lease, clock.now());
    const ours = holder === me;
    const now = microTime(clock.now());
    const spec = {
      holderIdentity: me,
      leaseDurationSeconds,
      acquireTime: ours ? (lease.spec.acquireTime ?? now) : now,
      renewTime: now,
      leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
    const updated = await client.update({ ...lease, spec }, signal);
    if (!updated.ok) return 'conflict';
    return won(updated.lease, sentAt);
  }

  function won(lease: Lease, sentAt: number): 'acquired' {
    current = lease;
    observer.observe(lease, clock.now());
    observeHolder(lease);
    renewedAt = sentAt;
    return 'acquired';
  }

  async function safeAttempt(signal: AbortSignal): Promise<AttemptResult | 'failed'> {
    attemptController = new AbortController();
    const both = AbortSignal.any([signal, attemptController.signal]);
    try {
      return await attempt(both);
    } catch (error) {
      if (signal.aborted) throw error;
      if (!both.aborted) emit({ type: 'lease.failed', error: toConvergeError(error) });
      return 'failed';
    } finally {
      attemptController = undefined;
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!leading) {
        const result = await safeAttempt(signal);
        if (result === 'acquired' && clock.now() < renewedAt + timing.renewDeadlineMs) {
          leading = true;
          armDeadline();
          emit({ type: 'leader.acquired' });
          continue;
        }
        await sleep(clock, timing.retryPeriodMs * (1 + 1.2 * random()), signal);
        continue;
      }
      await sleep(clock, timing.retryPeriodMs, signal);
      if (!leading) continue;
      const result = await safeAttempt(signal);
      if (!leading) continue; // the deadline passed while the request was in flight
      if (result === 'acquired') armDeadline();
      else if (result === 'held-by-other') lose('taken');
      // 'conflict' or 'failed': retry after the retry period until the deadline timer ends it.
    }
  }

  /**
   * Gives the Lease up, as client-go's release does: read it again first, since a renew that
   * `stop()` cut off may have landed after `current` was read, and an update from that stale
   * resourceVersion is refused (the standby would then wait out the lease duration). Only a
   * Lease this replica still holds is cleared; a conflict is tried once more.
   */
  async function release(): Promise<void> {
    if (!current || current.spec.holderIdentity !== me) return;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const lease = await client.get(namespace, name);
        if (!lease || lease.spec.holderIdentity !== me) return;
        const now = microTime(clock.now());
        const updated = await client.update({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
        if (updated.ok) {
          current = updated.lease;
          return;
        }
      }
      throw new Error(`the Lease ${leaseName} changed twice while it was being released; it expires after its lease duration instead`);
    } catch (error) {
      emit({ type: 'lease.failed', error: toConvergeError(error) });
    }
  }

  return {
    identity: me,
    start() {
      if (running) return;
      running = new AbortController();
      const signal = running.signal;
      loop = run(signal).catch((error: unknown) => {
        if (!signal.aborted) emit({ type: 'lease.failed', error: toConvergeError(error) });
      });
    },
    async stop() {
      const controller = running;
      running = undefined;
      controller?.abort(new DOMException('the elector was stopped', 'AbortError'));
      await loop;
      loop = undefined;
      const wasLeading = leading;
      lose('stopped');
      if (wasLeading && (options.releaseOnStop ?? true)) await release();
      if (owned) await transport.close();
    },
    mayWrite: () => leading && clock.now() < renewedAt + timing.renewDeadlineMs,
    isLeader: () => leading,
    holder: () => observedHolder,
    describe: () => `Lease ${leaseName} held by ${observedHolder ?? 'nobody'}, not ${me}`,
    on: (type, fn) => listeners.on(type, fn),
  };
}
