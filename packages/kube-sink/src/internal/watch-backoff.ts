import { exponentialBackoff } from '@converge/core';

/**
 * The backoff of everything the watch cache retries on its own (a LIST or watch, a kind's
 * discovery, the fetch of a newly followed object): from half a second, capped at 30 s, with
 * 20% jitter so many retries do not meet at the server.
 */
export function watchBackoff(random: () => number): ReturnType<typeof exponentialBackoff> {
  return exponentialBackoff({ initialMs: 500, maxMs: 30_000, jitter: 0.2, random });
}
