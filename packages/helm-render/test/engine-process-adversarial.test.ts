import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, processAlive } from '@converge/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WasmEngine, type ChartFile, type HelmLookup, type WasmEngineOptions } from '../src/index.js';
import { packageRoot } from '../src/internal/package-root.js';
import { chartFiles, request, spinningChart, valuesDoc } from './helpers/charts.js';
import { enginePids } from './helpers/engine-processes.js';
import { rejection } from './helpers/rejection.js';

const MiB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);
const umbrella = await chartFiles('charts/umbrella');
const wasmPath = join(packageRoot(), 'wasm', 'helm-engine.wasm');

/** A chart whose template doubles a string until the engine's memory runs out. */
const doubling: ChartFile[] = [
  { name: 'Chart.yaml', data: text('apiVersion: v2\nname: double\nversion: 1.0.0\n') },
  { name: 'templates/double.yaml', data: text('{{- $s := .Values.secret }}{{- range until 40 }}{{ $s = print $s $s }}{{ end }}\nx: {{ len $s }}\n') },
];
/** A chart whose one template looks a ConfigMap up and prints its `data.v`. */
const looking: ChartFile[] = [
  { name: 'Chart.yaml', data: text('apiVersion: v2\nname: look\nversion: 1.0.0\n') },
  {
    name: 'templates/cm.yaml',
    data: text(
      '{{- $cm := lookup "v1" "ConfigMap" "default" "src" }}\n' +
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: out\ndata:\n  v: {{ dig "data" "v" "none" $cm | quote }}\n',
    ),
  },
];
const lookupOf = (v: string): HelmLookup => () => Promise.resolve({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'src', namespace: 'default' }, data: { v } });

/** Waits until the host's engine process is being started and returns its pid (from /proc, as stats() has none yet). */
async function startingPid(engine: WasmEngine): Promise<number> {
  return vi.waitFor(
    () => {
      expect(engine.stats().process).toBe('starting');
      const [pid] = enginePids();
      expect(pid).toBeDefined();
      return pid!;
    },
    { timeout: 10_000, interval: 2 },
  );
}

const readyPid = (engine: WasmEngine) =>
  vi.waitFor(
    () => {
      expect(engine.stats().process).toBe('ready');
      return engine.stats().pid!;
    },
    { timeout: 20_000, interval: 5 },
  );

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

const engines: WasmEngine[] = [];
const engineWith = (o: WasmEngineOptions = {}) => {
  const engine = new WasmEngine({ idleTimeoutMs: Infinity, ...o });
  engines.push(engine);
  return engine;
};
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  expect(enginePids()).toEqual([]);
  expect(unhandled.splice(0)).toEqual([]);
});

let reference: string;
beforeAll(async () => {
  const engine = new WasmEngine();
  reference = (await engine.render(request(umbrella))).manifest;
  await engine.close();
});

describe('an engine process killed from outside', () => {
  it('while idle: the host notices, the next render starts a new process', async () => {
    const engine = engineWith();
    await engine.render(request(umbrella));
    const pid = engine.stats().pid!;
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(engine.stats()).toEqual({ process: 'none', pid: undefined, memoryBytes: 0, rssBytes: 0, processesStarted: 1 }), { timeout: 10_000 });
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 2 });
  });

  it('while rendering: the render fails with HELM_ENGINE_FAILED, the next one works', async () => {
    const engine = engineWith();
    const spin = engine.render(request(spinningChart));
    const pid = await readyPid(engine);
    process.kill(pid, 'SIGKILL');
    const err = await rejection(spin);
    expect(err.code).toBe('HELM_ENGINE_FAILED');
    expect(err.message).toMatch(/crashed \(process exited with SIGKILL\)/);
    expect(engine.stats().process).toBe('none');
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });

  it('while starting: the render fails with HELM_ENGINE_FAILED, the next one works', async () => {
    const engine = engineWith();
    const first = engine.render(request(umbrella));
    process.kill(await startingPid(engine), 'SIGKILL');
    const err = await rejection(first);
    expect(err.code).toBe('HELM_ENGINE_FAILED');
    expect(err.message).toMatch(/failed to start: its process exited with SIGKILL/);
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });
});

describe('an engine process stopped (SIGSTOP) from outside', () => {
  it('while idle: the next render fails at timeoutMs and its process is killed, the one after works', async () => {
    const engine = engineWith();
    await engine.render(request(umbrella));
    const pid = engine.stats().pid!;
    process.kill(pid, 'SIGSTOP');
    const started = Date.now();
    const err = await rejection(engine.render(request(umbrella, { timeoutMs: 1500 })));
    expect(err.code).toBe('ENGINE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5_000);
    await vi.waitFor(() => expect(processAlive(pid)).toBe(false), { timeout: 10_000 });
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });

  it('while rendering (in a lookup): the render fails at timeoutMs and its process is killed', async () => {
    const engine = engineWith();
    const lookup: HelmLookup = async (q) => {
      process.kill(engine.stats().pid!, 'SIGSTOP');
      return lookupOf('x')(q);
    };
    await engine.info();
    const pid = engine.stats().pid!;
    const err = await rejection(engine.render(request(looking, { lookup, timeoutMs: 1500 })));
    expect(err.code).toBe('ENGINE_TIMEOUT');
    await vi.waitFor(() => expect(processAlive(pid)).toBe(false), { timeout: 10_000 });
    expect((await engine.render(request(looking, { lookup: lookupOf('y') }))).manifest).toContain('v: "y"');
  });

  it('while starting: the render fails at timeoutMs and its process is killed', async () => {
    const engine = engineWith();
    const first = engine.render(request(umbrella, { timeoutMs: 1500 }));
    const pid = await startingPid(engine);
    process.kill(pid, 'SIGSTOP');
    expect((await rejection(first)).code).toBe('ENGINE_TIMEOUT');
    await vi.waitFor(() => expect(processAlive(pid)).toBe(false), { timeout: 10_000 });
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });
});

describe('close()', () => {
  it('during a render leaves no timer behind (it would keep the process alive for timeoutMs)', async () => {
    const clock = new FakeClock();
    const engine = engineWith({ clock });
    const spin = engine.render(request(spinningChart, { timeoutMs: 600_000 }));
    await readyPid(engine);
    const failed = rejection(spin);
    await engine.close();
    expect((await failed).message).toMatch(/closed/);
    expect(clock.pending).toBe(0);
  });

  it('is final: info() afterwards rejects and starts no process', async () => {
    const engine = engineWith();
    await engine.close();
    const err = await rejection(engine.info());
    expect(err.code).toBe('HELM_ENGINE_FAILED');
    expect(err.message).toMatch(/closed/);
    expect(engine.stats().process).toBe('none');
    expect(enginePids()).toEqual([]);
  });
});

describe('hostile inputs', () => {
  it('a lookup reader that throws fails the render with a typed error, the next works', async () => {
    const engine = engineWith();
    const err = await rejection(engine.render(request(looking, { lookup: () => Promise.reject(new Error('reader broke')) })));
    expect(err.code).toMatch(/^HELM_/);
    expect(err.message).toMatch(/reader broke/);
    expect((await engine.render(request(looking, { lookup: lookupOf('y') }))).manifest).toContain('v: "y"');
  });

  it('a lookup reader that rejects with something that cannot be printed fails the render, nothing unhandled', async () => {
    const engine = engineWith();
    const started = Date.now();
    const err = await rejection(engine.render(request(looking, { lookup: () => Promise.reject(Object.create(null)), timeoutMs: 20_000 })));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.code).toMatch(/^HELM_/);
  });

  it('a lookup reader that never answers is bounded by timeoutMs', async () => {
    const engine = engineWith();
    const err = await rejection(engine.render(request(looking, { lookup: () => new Promise(() => {}), timeoutMs: 1500 })));
    expect(err.code).toBe('ENGINE_TIMEOUT');
    expect((await engine.render(request(looking, { lookup: lookupOf('y') }))).manifest).toContain('v: "y"');
  });

  it('chart files that cannot be sent to the engine (a Proxy) fail at once with HELM_INVALID_OPTIONS, nothing unhandled', async () => {
    const engine = engineWith();
    const files = [{ name: 'Chart.yaml', data: new Proxy(new Uint8Array(4), {}) }, ...umbrella.slice(1)];
    const started = Date.now();
    const err = await rejection(engine.render(request(files, { timeoutMs: 20_000 })));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.code).toBe('HELM_INVALID_OPTIONS');
    expect(err.message).toMatch(/could not be cloned/);
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });

  it('a 200 MiB chart file fails with a typed error and grows the host by at most the one copy sent', async () => {
    const engine = engineWith();
    await engine.info();
    const big = new Uint8Array(200 * MiB).fill(0x61);
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
    const err = await rejection(engine.render(request([...umbrella, { name: 'files/big.txt', data: big }], { timeoutMs: 30_000 })));
    clearInterval(sampler);
    // Helm's own bound on a chart's size; the host's copy is the IPC message it serialized.
    expect(err.code).toBe('HELM_CHART_INVALID');
    expect(err.message).toMatch(/exceeds maximum decompressed size/);
    expect(peak - before).toBeLessThan(300 * MiB);
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });
});

describe('the wasm file changing under the host', () => {
  let dir: string;
  let copy: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helm-wasm-'));
    copy = join(dir, 'helm-engine.wasm');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('truncated: a clear HELM_ENGINE_FAILED; replaced by another valid build of another size: renders go on with it', async () => {
    await copyFile(wasmPath, copy);
    const engine = engineWith({ wasmPath: copy });
    await engine.render(request(umbrella));
    await truncate(copy, 40 * MiB);
    process.kill(engine.stats().pid!, 'SIGKILL');
    await vi.waitFor(() => expect(engine.stats().process).toBe('none'), { timeout: 10_000 });
    const err = await rejection(engine.render(request(umbrella)));
    expect(err.code).toBe('HELM_ENGINE_FAILED');
    expect(err.message).toMatch(/^the Helm wasm engine failed to start: /);

    // The same engine with a custom section appended: a valid module of another size (an upgrade in place).
    // Before, the host kept the first file's head, and every start failed with "changed while the engine started".
    const custom = [0, 9, 4, ...text('note'), 1, 2, 3, 4];
    await writeFile(copy, Buffer.concat([readFileSync(wasmPath), Uint8Array.from(custom)]));
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
    process.kill(engine.stats().pid!, 'SIGKILL');
    await vi.waitFor(() => expect(engine.stats().process).toBe('none'), { timeout: 10_000 });
    expect((await engine.render(request(umbrella))).manifest).toBe(reference);
  });
});

const SECRET = 'PLANTED-s3cr3t-VALUE-8d1f';
/** Everything an error carries: message, stack, data, and its causes', as text. */
function everything(err: unknown, depth = 0): string {
  if (!(err instanceof Error) || depth > 5) return String(err);
  const data = (err as { data?: unknown }).data;
  return [err.message, err.stack, JSON.stringify(data ?? null), everything((err as { cause?: unknown }).cause, depth + 1)].join('\n');
}

describe('secret values in failed renders', () => {
  const secretValues = [valuesDoc({ secret: SECRET })];
  it.each<[string, (engine: WasmEngine) => Promise<unknown>]>([
    ['killed', async (engine) => {
      const spin = engine.render(request(spinningChart, { values: secretValues }));
      process.kill(await readyPid(engine), 'SIGKILL');
      return spin;
    }],
    ['timed out', (engine) => engine.render(request(spinningChart, { values: secretValues, timeoutMs: 1500 }))],
    ['out of memory', (engine) => engine.render(request(doubling, { values: secretValues, maxMemoryBytes: 128 * MiB }))],
  ])('never reach the error of a render that was %s', async (_, run) => {
    const engine = engineWith();
    const err = await rejection(run(engine) as Promise<unknown>);
    expect(everything(err)).not.toContain(SECRET);
  });
});

