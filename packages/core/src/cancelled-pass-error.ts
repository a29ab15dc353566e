import { AbortedError, PassTimeoutError, type ConvergeError } from './errors.js';

/**
 * The error of a pass that its {@link PassLoop} cancelled (its `cancelled` option), by why
 * its signal was aborted: a retryable `PASS_TIMEOUT` when the pass reached its deadline of
 * `timeoutMs`, `ABORTED` when it was stopped with `abort` or its caller's signal aborted.
 *
 * @example
 * ```ts
 * const loop = new PassLoop<{ error?: ConvergeError }>({
 *   clock: systemClock, intervalMs: 60_000, jitter: 0.1, random: Math.random, retry: exponentialBackoff(),
 *   run: async () => ({}), errorOf: (r) => r.error, settled: () => undefined,
 *   timeoutMs: 600_000,
 *   cancelled: (reason) => ({ error: cancelledPassError('web', 600_000, reason) }),
 *   dropped: (why, reason) => (why === 'aborted' ? { error: cancelledPassError('web', 600_000, reason) } : {}),
 * });
 * ```
 */
export function cancelledPassError(name: string, timeoutMs: number, reason: unknown): ConvergeError {
  if (reason instanceof Error && reason.name === 'TimeoutError') return new PassTimeoutError(name, timeoutMs);
  return new AbortedError(`${name}: the pass was cancelled${reason instanceof Error ? `: ${reason.message}` : ''}`);
}
