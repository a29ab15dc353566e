import { FakeClock } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createDebouncer } from '../src/internal/debouncer.js';

function debouncer(clock: FakeClock) {
  const batches: string[][] = [];
  const d = createDebouncer<string>({ waitMs: 100, maxWaitMs: 400, clock, flush: (values) => batches.push(values) });
  return { d, batches };
}

describe('createDebouncer', () => {
  it('turns a burst into one batch holding the last value per key, once the stream is quiet', async () => {
    const clock = new FakeClock();
    const { d, batches } = debouncer(clock);
    d.push('a', 'a1');
    await clock.advance(50);
    d.push('b', 'b1');
    await clock.advance(50);
    d.push('a', 'a2');
    await clock.advance(99);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([['a2', 'b1']]);
  });

  it('flushes a stream that never goes quiet after maxWaitMs', async () => {
    const clock = new FakeClock();
    const { d, batches } = debouncer(clock);
    for (let i = 0; i < 10; i++) {
      d.push('a', `a${i}`);
      await clock.advance(60);
    }
    // Pushed at 0, 60, …, 540: the first batch is due at 400 at the latest, not at 640.
    expect(batches[0]).toEqual(['a6']);
  });

  it('drops what is pending when cancelled', async () => {
    const clock = new FakeClock();
    const { d, batches } = debouncer(clock);
    d.push('a', 'a1');
    d.cancel();
    await clock.advance(1000);
    expect(batches).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
