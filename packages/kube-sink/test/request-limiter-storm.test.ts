import { FakeClock, seededRandom } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createRequestLimiter } from '../src/index.js';

const MAX_IN_FLIGHT = 3;
const QPS = 10;
const BURST = 2;

/**
 * Requests asked for, cancelled (often in the same tick as a slot or token is granted) and
 * ended at random on a fake clock. Checked at every grant: never more than maxInFlight held,
 * never more started than the bucket allows (burst + qps × elapsed); at the end nothing held or
 * waiting and a new request gets a slot and a token at once after a quiet second.
 */
async function storm(seed: number, steps: number): Promise<string[]> {
  const rnd = seededRandom(seed);
  const clock = new FakeClock();
  const limiter = createRequestLimiter({ maxInFlight: MAX_IN_FLIGHT, qps: QPS, burst: BURST, clock });
  const violations: string[] = [];
  const held: (() => void)[] = [];
  const waiting: { abort: AbortController; settled: boolean }[] = [];
  let granted = 0;
  let outstanding = 0;
  for (let step = 0; step < steps && violations.length === 0; step++) {
    for (let burst = 1 + Math.floor(rnd() * 3); burst > 0; burst--) {
      const r = rnd();
      if (r < 0.35) {
        const abort = new AbortController();
        const entry = { abort, settled: false };
        waiting.push(entry);
        outstanding++;
        limiter.acquire(abort.signal).then(
          (release) => {
            entry.settled = true;
            outstanding--;
            granted++;
            held.push(release);
            if (held.length > MAX_IN_FLIGHT) violations.push(`t=${clock.now()} ${held.length} held`);
            if (granted > BURST + (clock.now() * QPS) / 1000) violations.push(`t=${clock.now()} ${granted} started, over the rate`);
          },
          () => {
            entry.settled = true;
            outstanding--;
          },
        );
      } else if (r < 0.55) {
        const pending = waiting.filter((w) => !w.settled && !w.abort.signal.aborted);
        pending[Math.floor(rnd() * pending.length)]?.abort.abort(new DOMException('cancelled', 'AbortError'));
      } else if (r < 0.8) {
        held.splice(Math.floor(rnd() * held.length), 1)[0]?.();
      } else {
        void clock.advance(Math.floor(rnd() * 250));
      }
    }
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  for (const w of waiting) w.abort.abort(new DOMException('wind down', 'AbortError'));
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  held.splice(0).forEach((release) => release());
  if (outstanding !== 0) violations.push(`${outstanding} acquire() calls never settled`);
  const stats = limiter.stats();
  if (stats.inFlight !== 0 || stats.waiting !== 0) violations.push(`left over: ${JSON.stringify(stats)}`);
  await clock.advance(1_000);
  let fresh = false;
  void limiter.acquire().then((release) => {
    fresh = true;
    release();
  });
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  if (!fresh) violations.push('a request after a quiet second did not start at once');
  return violations;
}

describe('a request limiter under a storm of requests cancelled while waiting', () => {
  const seeds = process.env.STRESS_SEED ? [Number(process.env.STRESS_SEED)] : Array.from({ length: Number(process.env.STRESS_RUNS ?? 10) }, () => Math.floor(Math.random() * 2 ** 31));
  it.each(seeds)('keeps its cap and its rate and loses no slot or token (seed %i)', async (seed) => {
    expect(await storm(seed, Number(process.env.STRESS_STEPS ?? 400)), `reproduce with STRESS_SEED=${seed}`).toEqual([]);
  });
});
