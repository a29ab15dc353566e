import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type HelmChartOptions, HelmError, WasmEngine, helmChart } from '../src/index.js';
import { artifactOf, filesOf } from './helpers/artifact.js';
import { fixtures } from './helpers/charts.js';
import { rssOf } from './helpers/engine-processes.js';
import { rejection } from './helpers/rejection.js';

const helmBin = inject('helmBin');
const MiB = 1024 * 1024;
const engine = new WasmEngine();
afterAll(() => engine.close());

// bad/runaway: templates that never stop on their own, picked by `mode` (see its values.yaml).
const artifact = artifactOf(await filesOf(join(fixtures, 'bad', 'runaway'), 'runaway/'));
type Mode = 'recurse' | 'until' | 'double' | 'spin' | 'none';
const runaway = (mode: Mode, o: Partial<HelmChartOptions> = {}, from = artifact) =>
  helmChart({ chart: 'runaway', releaseName: 'r', values: { mode }, engine, maxMemoryBytes: 256 * MiB, ...o })({ artifact: from });

/** The highest resident memory of this process and of the engine's (whichever is running), sampled every 5 ms while `fn` runs. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ host: number; engine: number; result: T }> {
  let host = 0;
  let engineRss = 0;
  const sample = () => {
    host = Math.max(host, process.memoryUsage.rss());
    engineRss = Math.max(engineRss, rssOf(engine.stats().pid));
  };
  sample();
  const sampler = setInterval(sample, 5);
  try {
    const result = await fn();
    sample();
    return { host, engine: engineRss, result };
  } finally {
    clearInterval(sampler);
  }
}

describe('wasm engine bounds', () => {
  it.each([
    ['a define that includes itself', 'recurse'],
    ['a range over until 100000000', 'until'],
    ['a string doubled in a loop', 'double'],
  ] as const)('stops %s with ENGINE_MEMORY_LIMIT naming the chart and the limit, then renders the next chart', async (_, mode) => {
    const err = await rejection(runaway(mode));
    expect(err).toBeInstanceOf(HelmError);
    expect(err.code).toBe('ENGINE_MEMORY_LIMIT');
    expect(err.message).toMatch(/^helm chart runaway: the render needed more memory than maxMemoryBytes allows \(268435456 bytes \(256 MiB\)\)/);
    expect(err.data).toMatchObject({ chart: 'runaway', limit: 'maxMemoryBytes', limitValue: 256 * MiB });
    // Never Go's goroutine dump, never partial output.
    expect(err.message).not.toMatch(/goroutine|runtime\.|\.go:\d|k0:|xxxx/);
    expect(err.message.length).toBeLessThan(600);
    // The engine's process was replaced: the next render works, on the same engine.
    expect((await runaway('none')).map((o) => o.data)).toEqual([{ mode: 'none' }]);
  });

  it("keeps the engine's memory within the cap while templates run away, and the host's out of it", async () => {
    await runaway('none'); // a warm engine, as in a long-running reconciler
    const before = process.memoryUsage.rss();
    const { host, engine: peak, result: codes } = await peakRss(async () => {
      const codes = [];
      for (const mode of ['recurse', 'until', 'double'] as const) codes.push((await rejection(runaway(mode))).code);
      return codes;
    });
    expect(codes).toEqual(['ENGINE_MEMORY_LIMIT', 'ENGINE_MEMORY_LIMIT', 'ENGINE_MEMORY_LIMIT']);
    // The wasm memory is at most 256 MiB; the slack is the engine process's Node, module and code.
    // Without the cap, `recurse` alone grows the process by gigabytes.
    expect(peak).toBeGreaterThan(256 * MiB);
    expect(peak).toBeLessThan(256 * MiB + 256 * MiB);
    // The engine runs in a process of its own: none of that lands in the host's.
    expect(host - before).toBeLessThan(48 * MiB);
  });

  it('stops a render that loops past timeoutMs with ENGINE_TIMEOUT, then renders the next chart', async () => {
    const started = Date.now();
    const err = await rejection(runaway('spin', { timeoutMs: 1000 }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.code).toBe('ENGINE_TIMEOUT');
    expect(err.message).toMatch(/^helm chart runaway: the render took longer than timeoutMs allows \(1000 ms\)/);
    expect(err.data).toMatchObject({ limit: 'timeoutMs', limitValue: 1000 });
    expect(await runaway('none')).toHaveLength(1);
  });

  it('runs a render with another maxMemoryBytes in an engine compiled for it', async () => {
    // The cap is compiled into the module: a render with another cap gets its own process.
    const small = await rejection(runaway('double', { maxMemoryBytes: 64 * MiB }));
    expect(small.code).toBe('ENGINE_MEMORY_LIMIT');
    expect(small.message).toMatch(/67108864 bytes \(64 MiB\)/);
    expect(await runaway('none', { maxMemoryBytes: 64 * MiB })).toHaveLength(1);
    expect(await runaway('none')).toHaveLength(1);
  });

  it('refuses an input larger than maxMemoryBytes before sending it to the engine', async () => {
    const files = { ...(await filesOf(join(fixtures, 'bad', 'runaway'), 'runaway/')), 'runaway/files/big.txt': new Uint8Array(80 * MiB) };
    const started = engine.stats().processesStarted;
    const err = await rejection(runaway('none', { maxMemoryBytes: 64 * MiB }, artifactOf(files)));
    expect(err.code).toBe('ENGINE_MEMORY_LIMIT');
    expect(err.message).toMatch(/the input alone is \d+ bytes \(80(\.\d)? MiB\)/);
    // No engine was started for it, nor was the running one replaced.
    expect(engine.stats().processesStarted).toBe(started);
  });

  it('refuses a maxMemoryBytes below the memory the engine starts with', async () => {
    const err = await rejection(runaway('none', { maxMemoryBytes: 1 * MiB }));
    expect(err.code).toBe('HELM_INVALID_OPTIONS');
    expect(err.message).toMatch(/maxMemoryBytes.*below the \d+ bytes the engine starts with/);
    expect(await runaway('none')).toHaveLength(1);
  });
});

describe('cli engine bounds', () => {
  const cli = { engine: 'cli', helmPath: helmBin } as const;

  it('kills helm past timeoutMs with ENGINE_TIMEOUT', async () => {
    const started = Date.now();
    const err = await rejection(runaway('spin', { ...cli, timeoutMs: 1000 }));
    expect(err.code).toBe('ENGINE_TIMEOUT');
    expect(err.message).toMatch(/^helm chart runaway: the render took longer than timeoutMs allows \(1000 ms\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('kills helm past maxMemoryBytes with ENGINE_MEMORY_LIMIT', async () => {
    const err = await rejection(runaway('double', { ...cli, maxMemoryBytes: 256 * MiB }));
    expect(err.code).toBe('ENGINE_MEMORY_LIMIT');
    expect(err.message).toMatch(/^helm chart runaway: the render needed more memory than maxMemoryBytes allows \(268435456 bytes \(256 MiB\)\): the helm process reached \d+ bytes/);
    expect(await runaway('none', cli)).toHaveLength(1);
  });
});
