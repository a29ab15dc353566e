import { Semaphore, systemClock } from '@converge/core';
import type { Clock, TimerHandle } from '@converge/core';
import type { KubeConfig } from '@kubernetes/client-node';

/** Options of {@link createRequestLimiter}. */
export interface RequestLimiterOptions {
  /**
   * Most requests in flight at once; the others wait, in the order they came, for one to end.
   * `Infinity` turns the cap off.
   * @default 64
   */
  maxInFlight?: number;
  /**
   * Requests started per second on average (client-go's `QPS`, Flux's `--kube-api-qps`).
   * `Infinity` turns the rate off: the API server's own fairness (API Priority and Fairness)
   * then decides, as client-go does when it sees the server has it.
   * @default Infinity
   */
  qps?: number;
  /**
   * Requests that may start at once after a quiet period, above `qps` (client-go's `Burst`);
   * with `qps` only.
   * @default max(1, qps)
   */
  burst?: number;
  /**
   * Time for the `qps` refill; tests pass `FakeClock`. Not read without `qps`.
   * @default systemClock
   */
  clock?: Clock;
}

/** What a {@link RequestLimiter} holds now. */
export interface RequestLimiterStats {
  /** Requests sent and not answered yet. */
  inFlight: number;
  /** Requests waiting for a slot (or a token). */
  waiting: number;
  /** The cap on requests in flight. */
  maxInFlight: number;
}

/**
 * Client-side flow control for requests to one API server, shared by every transport that
 * holds it: at most `maxInFlight` requests at once, and optionally a token bucket of `qps` and
 * `burst`. Waiting requests start first come, first served. Only short requests take a slot;
 * watches, which stay open, do not.
 */
export interface RequestLimiter {
  /**
   * Waits for a slot (and a token) and resolves with the function that gives it back, to be
   * called once the answer has been read. Rejects with the signal's reason when `signal`
   * aborts while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** Counts of requests in flight and waiting. */
  stats(): RequestLimiterStats;
}

/**
 * A limiter of its own: pass it to the transports and sinks that should share it
 * (`createTransport(kubeConfig, { limiter })`, `kubeSink({ requestLimiter })`).
 *
 * @example
 * ```ts
 * import { KubeConfig } from '@kubernetes/client-node';
 * import { createRequestLimiter, kubeSink } from '@converge/kube-sink';
 *
 * const kubeConfig = new KubeConfig();
 * kubeConfig.loadFromDefault();
 * // A busy shared cluster: at most 16 requests at once and 50 a second, as Flux's defaults.
 * const requestLimiter = createRequestLimiter({ maxInFlight: 16, qps: 50, burst: 100 });
 * const sink = kubeSink({ kubeConfig, requestLimiter });
 * ```
 */
export function createRequestLimiter(options: RequestLimiterOptions = {}): RequestLimiter {
  const maxInFlight = options.maxInFlight ?? 64;
  const qps = options.qps ?? Infinity;
  const burst = options.burst ?? Math.max(1, qps === Infinity ? 1 : qps);
  if (!(maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1, got ${maxInFlight}`);
  if (!(qps > 0)) throw new RangeError(`qps must be above 0, got ${qps}`);
  if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
  // Slots first come, first served (core's Semaphore); a request holding one then waits for its
  // token, so tokens go out in the same order.
  const slots = new Semaphore(maxInFlight);
  const bucket = qps === Infinity ? undefined : tokenBucket(qps, burst, options.clock ?? systemClock);
  let pacing = 0;

  return {
    async acquire(signal) {
      const release = await slots.acquire(signal);
      if (!bucket) return release;
      pacing++;
      try {
        await bucket.take(signal);
        return release;
      } catch (reason) {
        release();
        throw reason;
      } finally {
        pacing--;
      }
    },
    stats: () => {
      const { held, waiting } = slots.stats();
      return { inFlight: held - pacing, waiting: waiting + pacing, maxInFlight };
    },
  };
}

/**
 * Tokens refilled at `qps` a second up to `burst`; `take` reserves the next token and waits
 * until it is due (golang.org/x/time/rate's reservations), so takers are served in order.
 */
function tokenBucket(qps: number, burst: number, clock: Clock): { take(signal: AbortSignal | undefined): Promise<void> } {
  let tokens = burst;
  let refilledAt = clock.now();
  return {
    take(signal) {
      const now = clock.now();
      tokens = Math.min(burst, tokens + ((now - refilledAt) * qps) / 1000) - 1;
      refilledAt = now;
      if (tokens >= 0) return Promise.resolve();
      if (signal?.aborted) {
        tokens++;
        return Promise.reject(signal.reason);
      }
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          clock.clearTimeout(timer);
          tokens++; // the reservation is given back
          reject(signal?.reason);
        };
        const timer: TimerHandle = clock.setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, Math.ceil((-tokens * 1000) / qps));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

const shared = new WeakMap<KubeConfig, RequestLimiter>();

/**
 * The process's limiter for a KubeConfig object, with the defaults of {@link createRequestLimiter}:
 * every `kubeSink` and watch cache built on the same KubeConfig object uses it unless given
 * another, so a fleet of sinks together keeps at most `maxInFlight` requests at the API server
 * however many reconcilers run. Leases (leader election, shard membership) do not use it: a
 * renewal must not wait behind a first sync.
 */
export function sharedRequestLimiter(kubeConfig: KubeConfig): RequestLimiter {
  let limiter = shared.get(kubeConfig);
  if (!limiter) shared.set(kubeConfig, (limiter = createRequestLimiter()));
  return limiter;
}
