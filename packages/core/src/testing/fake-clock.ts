import type { Clock, TimerHandle } from '../clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to, so runtime tests never sleep.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * const r = createReconciler({ ..., clock, intervalMs: 60_000 });
 * r.start();
 * await clock.advance(60_000); // fires every timer due up to one minute from now, in order
 * await settled(r, { clock });  // and waits until the passes they started have finished
 * ```
 *
 * With `jitter` above 0 a pass is due a little after its interval; use `jitter: 0` in tests that
 * count passes per interval.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];

  /** @param start - the initial time in ms since the epoch. @default 0 */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id: number }).id;
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the earliest pending timer fires, or `undefined`. */
  get nextAt(): number | undefined {
    return this.#timers.reduce<number | undefined>((min, t) => (min === undefined || t.at < min ? t.at : min), undefined);
  }

  /**
   * Moves time forward by `ms`, firing due timers in order. After each timer it yields to the
   * event loop a few dozen times, which lets promise chains that need no real I/O finish;
   * work waiting on real I/O (files, sockets) may still be running when it returns. Await
   * `settled()` (or an event with `nextEvent`) for that.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.fn();
      await settle();
    }
    this.#now = until;
  }

  /** Fires every timer due now and lets the work it starts settle. */
  async flush(): Promise<void> {
    await this.advance(0);
  }
}

/** Yields to the event loop 50 times, so promise chains without real I/O can finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
