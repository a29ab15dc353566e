import type { ConvergeError } from './errors.js';

/**
 * When and how fast a failed pass is retried. Data, not code paths: a predicate and a delay
 * function, so a team can swap either. A failure the policy does not retry is not given up on:
 * the loop runs the next pass after the interval, as for a success (the source may have
 * changed by then), or at once on `trigger()`.
 */
export interface RetryPolicy {
  /** Whether to retry sooner than the next interval after this error (`failures` in a row, counting this one). */
  shouldRetry(error: ConvergeError, failures: number): boolean;
  /** Delay in ms before retry number `failures` (1 for the first failure). */
  delay(failures: number): number;
}

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay after the first failure, in ms. @default 1000 */
  initialMs?: number;
  /** Upper bound of the delay, in ms. @default 300000 (5 minutes) */
  maxMs?: number;
  /** Growth factor per failure. @default 2 */
  factor?: number;
  /** Fraction of random spread added to each delay, 0 to 1. @default 0.1 */
  jitter?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * Which failures are retried with the backoff; the others wait for the next interval.
   * `() => true` retries every failure.
   * @default (error) => error.retryable — what may succeed on a retry (an unreachable server, a
   *   conflict, a gate waiting for an image, a health timeout) is retried; what fails the same
   *   way until the revision changes (invalid YAML, a refused prune, a Forbidden apply) is not
   */
  shouldRetry?: RetryPolicy['shouldRetry'];
}

/**
 * Capped exponential backoff with jitter: `min(maxMs, initialMs · factor^(failures−1)) · (1 + jitter·r)`,
 * for retryable failures only (see {@link ExponentialBackoffOptions.shouldRetry}), as
 * controller-runtime does not requeue a terminal error with backoff.
 *
 * @example
 * ```ts
 * createReconciler({ ..., retry: exponentialBackoff({ initialMs: 500, maxMs: 60_000 }) });
 * ```
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): RetryPolicy {
  const { initialMs = 1000, maxMs = 300_000, factor = 2, jitter = 0.1, random = Math.random, shouldRetry = (error) => error.retryable } = options;
  return {
    shouldRetry,
    delay: (failures) => {
      const base = Math.min(maxMs, initialMs * factor ** Math.max(0, failures - 1));
      return Math.round(Math.min(maxMs, base * (1 + jitter * random())));
    },
  };
}
