/** What a {@link Semaphore} holds now. */
export interface SemaphoreStats {
  /** Slots held and not given back yet. */
  held: number;
  /** Callers waiting for a slot. */
  waiting: number;
  /** The number of slots. */
  max: number;
}

interface Waiter {
  grant(release: () => void): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * A counting semaphore whose waiters are served first come, first served: at most `max`
 * holders at once, the others queued in the order they asked, a waiter whose signal aborts
 * taken out of the queue. It keeps no time, so tests drive it without a clock. The building
 * block under kube-sink's request limiter (requests in flight) and the fleet's
 * `maxConcurrentPasses` (a reconciler's `passSlots`).
 *
 * @example
 * ```ts
 * const slots = new Semaphore(16);
 * const release = await slots.acquire(signal);
 * try {
 *   await work();
 * } finally {
 *   release();
 * }
 * ```
 */
export class Semaphore {
  /** The number of slots. */
  readonly max: number;
  #held = 0;
  readonly #queue: Waiter[] = [];

  /** A semaphore of `max` slots (at least 1; `Infinity` never makes anyone wait). */
  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError(`a semaphore needs at least 1 slot, got ${max}`);
    this.max = max;
  }

  /**
   * Waits for a slot and resolves with the function that gives it back (calling it more than
   * once gives back one slot). Rejects with the signal's reason, and leaves the queue, when
   * `signal` aborts while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /** Slots held and callers waiting. */
  stats(): SemaphoreStats {
    return { held: this.#held, waiting: this.#queue.length, max: this.max };
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#held < this.max) {
      const waiter = this.#queue.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      // Aborted, but its abort listener has not run yet (another listener of the signal gave a slot back first).
      if (waiter.signal?.aborted) {
        waiter.onAbort();
        continue;
      }
      this.#held++;
      let released = false;
      waiter.grant(() => {
        if (released) return;
        released = true;
        this.#held--;
        this.#pump();
      });
    }
  }
}
