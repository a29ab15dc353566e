import type { Clock, TimerHandle } from '@converge/core';

/** Options of {@link createDebouncer}. */
export interface DebouncerOptions<V> {
  /** A batch is flushed once nothing new arrived for this long. */
  waitMs: number;
  /** Never hold the first value of a batch longer than this, however busy the stream. */
  maxWaitMs: number;
  clock: Clock;
  /** Receives the last value pushed under each key, in first-pushed order. */
  flush(values: V[]): void;
}

/** Collects values by key and hands them over in batches (trailing debounce with a cap). */
export interface Debouncer<V> {
  /** Adds or replaces the value under `key` and restarts the quiet period. */
  push(key: string, value: V): void;
  /** Drops what is pending; nothing is flushed afterwards. */
  cancel(): void;
}

/**
 * A trailing debounce per batch: a burst of edits (or a controller's follow-up writes) becomes
 * one flush with the last value per key, and a stream that never goes quiet still flushes
 * every `maxWaitMs`. Time comes from the clock, so tests drive it with `FakeClock`.
 */
export function createDebouncer<V>(options: DebouncerOptions<V>): Debouncer<V> {
  const pending = new Map<string, V>();
  let timer: TimerHandle | undefined;
  let firstAt = 0;

  const flush = (): void => {
    timer = undefined;
    const values = [...pending.values()];
    pending.clear();
    options.flush(values);
  };

  return {
    push(key, value) {
      const { clock, waitMs, maxWaitMs } = options;
      if (pending.size === 0) firstAt = clock.now();
      pending.set(key, value);
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = clock.setTimeout(flush, Math.max(0, Math.min(waitMs, firstAt + maxWaitMs - clock.now())));
    },
    cancel() {
      if (timer !== undefined) options.clock.clearTimeout(timer);
      timer = undefined;
      pending.clear();
    },
  };
}
