import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/index.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Asks for `n` slots in order; `granted` lists the indexes granted so far. */
function askMany(slots: Semaphore, n: number, signal?: AbortSignal) {
  const granted: number[] = [];
  const releases = new Map<number, () => void>();
  const settled = Array.from({ length: n }, (_, i) =>
    slots.acquire(signal).then(
      (release) => {
        granted.push(i);
        releases.set(i, release);
      },
      (reason: unknown) => reason,
    ),
  );
  return { granted, release: (i: number) => releases.get(i)?.(), settled };
}

describe('Semaphore', () => {
  it('lets at most max holders in and serves the waiting ones first come, first served', async () => {
    const slots = new Semaphore(2);
    const { granted, release } = askMany(slots, 5);
    await tick();
    expect(granted).toEqual([0, 1]);
    expect(slots.stats()).toEqual({ held: 2, waiting: 3, max: 2 });
    release(1);
    release(1); // a second release of the same slot gives nothing back
    await tick();
    expect(granted).toEqual([0, 1, 2]);
    release(0);
    release(2);
    await tick();
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    expect(slots.stats()).toEqual({ held: 2, waiting: 0, max: 2 });
  });

  it('takes a waiter whose signal aborts out of the queue, rejecting with its reason, and the next one gets the slot', async () => {
    const slots = new Semaphore(1);
    const first = askMany(slots, 1);
    const abort = new AbortController();
    const dropped = askMany(slots, 1, abort.signal);
    const next = askMany(slots, 1);
    await tick();
    abort.abort(new DOMException('stopped', 'AbortError'));
    expect(await dropped.settled[0]).toMatchObject({ name: 'AbortError' });
    expect(slots.stats()).toEqual({ held: 1, waiting: 1, max: 1 });
    first.release(0);
    await tick();
    expect(next.granted).toEqual([0]);
    expect(dropped.granted).toEqual([]);
    await expect(slots.acquire(abort.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('with Infinity slots never makes anyone wait, and refuses fewer than one slot', async () => {
    const { granted } = askMany(new Semaphore(Infinity), 100);
    await tick();
    expect(granted).toHaveLength(100);
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(Number.NaN)).toThrow(RangeError);
  });

  it('a waiter aborted in the same tick as a slot is given back loses no slot and gets none twice, whichever comes first', async () => {
    // The release first: the waiter already has the slot (its abort comes too late), and gives it back.
    const slots = new Semaphore(1);
    const holder = askMany(slots, 1);
    await tick();
    const abort = new AbortController();
    const late = askMany(slots, 1, abort.signal);
    holder.release(0);
    abort.abort(new DOMException('too late', 'AbortError'));
    await tick();
    expect(late.granted).toEqual([0]);
    expect(slots.stats()).toEqual({ held: 1, waiting: 0, max: 1 });
    late.release(0);
    expect(slots.stats()).toEqual({ held: 0, waiting: 0, max: 1 });

    // The abort first, from a listener that gives back the held slot: the next waiter gets it, once.
    const first = askMany(slots, 1);
    await tick();
    const shared = new AbortController();
    shared.signal.addEventListener('abort', () => first.release(0));
    const dropped = askMany(slots, 2, shared.signal);
    const next = askMany(slots, 1);
    shared.abort(new DOMException('stopped', 'AbortError'));
    await tick();
    expect(dropped.granted).toEqual([]);
    expect(next.granted).toEqual([0]);
    expect(slots.stats()).toEqual({ held: 1, waiting: 0, max: 1 });
    expect(await dropped.settled[0]).toMatchObject({ message: 'stopped' });
    next.release(0);
    expect(slots.stats()).toEqual({ held: 0, waiting: 0, max: 1 });
  });
});
