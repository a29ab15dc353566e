import { ConvergeError } from '@converge/core';
import { FakeClock, processAlive, seededRandom } from '@converge/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WasmEngine } from '../src/index.js';
import { chartFiles, request } from './helpers/charts.js';
import { enginePids } from './helpers/engine-processes.js';

// Renders on the real Helm engine, aborted at random moments, interleaved with close(), with
// memory caps that each need a process of their own and idle releases on a FakeClock.
// STRESS_SEED replays a run, STRESS_RUNS / STRESS_STEPS make it longer.

const MiB = 1024 * 1024;
const umbrella = await chartFiles('charts/umbrella');
const releases = ['one', 'two'] as const;
const caps = [192 * MiB, 256 * MiB, 512 * MiB];
const reference: Record<string, string> = {};

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const engine = new WasmEngine();
  for (const name of releases) reference[name] = (await engine.render(request(umbrella, { releaseName: name }))).manifest;
  await engine.close();
});
afterAll(() => process.off('unhandledRejection', onUnhandled));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Outcome = { release: string; result: { ok: true; manifest: string } | { ok: false; err: unknown } };

/** One storm; returns what went wrong (empty when nothing did). */
async function storm(seed: number, steps: number): Promise<{ problems: string[]; tally: Record<string, number>; maxAlive: number }> {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const clock = new FakeClock();
  const newEngine = () => new WasmEngine({ clock, idleTimeoutMs: 5_000 });
  let engine = newEngine();
  const outcomes: Array<Promise<Outcome>> = [];
  const controllers: AbortController[] = [];
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  const problems: string[] = [];
  let maxAlive = 0;
  const sampler = setInterval(() => (maxAlive = Math.max(maxAlive, enginePids().length)), 3);

  for (let step = 0; step < steps; step++) {
    const roll = random();
    if (roll < 0.45) {
      const release = pick(releases);
      const ac = new AbortController();
      controllers.push(ac);
      if (random() < 0.5) timers.push(setTimeout(() => ac.abort(), Math.floor(random() * 1500)));
      const r = request(umbrella, { releaseName: release, maxMemoryBytes: pick(caps), timeoutMs: 60_000, signal: ac.signal });
      outcomes.push(
        engine.render(r).then(
          (o) => ({ release, result: { ok: true, manifest: o.manifest } }),
          (err: unknown) => ({ release, result: { ok: false, err } }),
        ),
      );
    } else if (roll < 0.55) {
      for (const ac of controllers) ac.abort();
    } else if (roll < 0.7) {
      await clock.advance(Math.floor(random() * 6_000));
    } else if (roll < 0.78) {
      await engine.close();
      if (engine.stats().process !== 'none') problems.push(`step ${step}: process ${engine.stats().process} after close()`);
      engine = newEngine();
    } else {
      await sleep(Math.floor(random() * 1500));
    }
  }

  const settled = await Promise.race([Promise.all(outcomes), sleep(90_000).then(() => undefined)]);
  if (!settled) problems.push('a render never settled');
  const tally: Record<string, number> = {};
  for (const { release, result } of settled ?? []) {
    const key = result.ok ? 'rendered' : result.err instanceof ConvergeError ? result.err.code : 'other';
    tally[key] = (tally[key] ?? 0) + 1;
    if (result.ok) {
      if (result.manifest !== reference[release]) problems.push(`render of ${release}: wrong manifest`);
      continue;
    }
    const { err } = result;
    const code = err instanceof ConvergeError ? err.code : undefined;
    const expected = code === 'ABORTED' || code === 'ENGINE_TIMEOUT' || (code === 'HELM_ENGINE_FAILED' && /is closed$/.test((err as Error).message));
    if (!expected) problems.push(`render of ${release}: unexpected ${String(code)}: ${(err as Error).message}`);
  }
  for (const t of timers) clearTimeout(t);
  await engine.close();
  clearInterval(sampler);
  const left = enginePids();
  if (left.length) problems.push(`engine processes left after close(): ${left.join(', ')}`);
  return { problems, tally, maxAlive };
}

describe('engine process storm', () => {
  it('every render settles with the reference output or a typed error; no process outlives close()', async () => {
    const runs = Number(process.env['STRESS_RUNS'] ?? 1);
    const steps = Number(process.env['STRESS_STEPS'] ?? 20);
    const first = Number(process.env['STRESS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    for (let run = 0; run < runs; run++) {
      const seed = first + run;
      const { problems, tally, maxAlive } = await storm(seed, steps);
      console.log(`storm seed ${seed}: ${JSON.stringify(tally)}, at most ${maxAlive} engine processes alive at once`);
      expect(problems, `STRESS_SEED=${seed}`).toEqual([]);
      // One per host, and the one just killed while its successor starts (SIGKILL takes a moment).
      expect(maxAlive, `STRESS_SEED=${seed}`).toBeLessThanOrEqual(2);
      expect(unhandled.splice(0), `STRESS_SEED=${seed}`).toEqual([]);
    }
  }, 300_000);
});

describe('many hosts at once', () => {
  it('six engines rendering concurrently all finish, and all their processes exit after close()', async () => {
    const many = Array.from({ length: 6 }, () => new WasmEngine({ idleTimeoutMs: Infinity }));
    const outputs = await Promise.all(many.map((e) => e.render(request(umbrella, { releaseName: 'one', timeoutMs: 120_000 }))));
    expect(outputs.map((o) => o.manifest)).toEqual(Array(6).fill(reference['one']));
    const pids = many.map((e) => e.stats().pid!);
    expect(new Set(pids).size).toBe(6);
    await Promise.all(many.map((e) => e.close()));
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    await vi.waitFor(() => expect(enginePids()).toEqual([]), { timeout: 10_000 });
  }, 120_000);
});
