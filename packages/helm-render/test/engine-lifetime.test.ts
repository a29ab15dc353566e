import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FakeClock, processAlive } from '@converge/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WasmEngine, type ChartFile, type WasmEngineOptions } from '../src/index.js';
import { chartFiles, request, spinningChart, valuesDoc } from './helpers/charts.js';
import { enginePids } from './helpers/engine-processes.js';

const MiB = 1024 * 1024;
const umbrella = await chartFiles('charts/umbrella');
const text = (s: string) => new TextEncoder().encode(s);
/** A chart whose one template doubles a 16-byte string `doublings` times: 20 grow the engine's memory to about 115 MiB. */
const grow: ChartFile[] = [
  { name: 'Chart.yaml', data: text('apiVersion: v2\nname: grow\nversion: 1.0.0\n') },
  {
    name: 'templates/configmap.yaml',
    data: text(
      '{{- $s := "0123456789abcdef" }}{{- range until (int .Values.doublings) }}{{- $s = print $s $s }}{{- end }}\n' +
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grow\ndata:\n  length: {{ len $s | quote }}\n',
    ),
  },
];

const engines: WasmEngine[] = [];
const engineWith = (o: WasmEngineOptions) => {
  const engine = new WasmEngine(o);
  engines.push(engine);
  return engine;
};
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('wasm engine lifetime', () => {
  it('stops its process after idleTimeoutMs without a render, and starts one again on the next', async () => {
    const clock = new FakeClock();
    const engine = engineWith({ clock, idleTimeoutMs: 10_000 });
    const first = await engine.render(request(umbrella));
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 1 });
    expect(engine.stats().memoryBytes).toBeGreaterThan(30 * MiB);
    expect(engine.stats().rssBytes).toBeGreaterThan(engine.stats().memoryBytes);
    const { pid } = engine.stats();
    expect(processAlive(pid!)).toBe(true);

    await clock.advance(9_999);
    expect(engine.stats().process).toBe('ready');
    await clock.advance(1);
    expect(engine.stats()).toEqual({ process: 'none', pid: undefined, memoryBytes: 0, rssBytes: 0, processesStarted: 1 });
    expect(clock.pending).toBe(0);
    await vi.waitFor(() => expect(processAlive(pid!)).toBe(false), { timeout: 10_000 });

    expect((await engine.render(request(umbrella))).manifest).toBe(first.manifest);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 2 });
  });

  it('counts idleness from the last render: one that is queued as the timeout passes keeps the process', async () => {
    const clock = new FakeClock();
    const engine = engineWith({ clock, idleTimeoutMs: 10_000 });
    const first = await engine.render(request(umbrella));
    await clock.advance(9_000);
    const racing = engine.render(request(umbrella));
    await clock.advance(1_000); // the timeout the first render started has passed; a render is running
    expect((await racing).manifest).toBe(first.manifest);
    await clock.advance(9_999);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 1 });
    await clock.advance(1);
    expect(engine.stats().process).toBe('none');
  });

  it('keeps everything with idleTimeoutMs: Infinity', async () => {
    const clock = new FakeClock();
    const engine = engineWith({ clock, idleTimeoutMs: Infinity });
    await engine.render(request(umbrella));
    expect(clock.pending).toBe(0);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 1 });
  });

  it('replaces a process whose WebAssembly memory a render left above recycleAboveMemoryBytes', async () => {
    const engine = engineWith({ recycleAboveMemoryBytes: 64 * MiB, idleTimeoutMs: Infinity });
    const small = await engine.render(request(umbrella));
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 1 });
    expect(engine.stats().memoryBytes).toBeLessThan(64 * MiB);
    const { pid } = engine.stats();

    const big = await engine.render(request(grow, { values: [valuesDoc({ doublings: 20 })] }));
    expect(big.manifest).toContain('length: "16777216"');
    expect(engine.stats()).toEqual({ process: 'none', pid: undefined, memoryBytes: 0, rssBytes: 0, processesStarted: 1 });
    await vi.waitFor(() => expect(processAlive(pid!)).toBe(false), { timeout: 10_000 });

    expect((await engine.render(request(umbrella))).manifest).toBe(small.manifest);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 2 });
    expect(engine.stats().memoryBytes).toBeLessThan(64 * MiB);
  });

  it('renders queued behind a recycle each get the right output from a fresh process', async () => {
    const reference = engineWith({ idleTimeoutMs: Infinity });
    const requests = ['one', 'two', 'three'].map((releaseName) => request(umbrella, { releaseName }));
    const expected: string[] = [];
    for (const r of requests) expected.push((await reference.render(r)).manifest);
    expect(new Set(expected).size).toBe(3);

    // Every render leaves more than 0 bytes, so every render recycles the process; all three are queued at once.
    const engine = engineWith({ recycleAboveMemoryBytes: 0, idleTimeoutMs: Infinity });
    const outputs = await Promise.all(requests.map((r) => engine.render(r)));
    expect(outputs.map((o) => o.manifest)).toEqual(expected);
    expect(engine.stats()).toMatchObject({ process: 'none', processesStarted: 3 });
  });

  it.each([
    ['waits for a render', ''],
    ['runs a render that never ends', 'void engine.render(spin);'],
  ])("ends its process with the host's when the host is killed with SIGKILL while it %s", async (_, then) => {
    const spin = JSON.stringify(request(spinningChart, { timeoutMs: 600_000 }), (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
    const script = [
      "import { WasmEngine } from '@converge/helm-render';",
      'const engine = new WasmEngine();',
      `const spin = JSON.parse(${JSON.stringify(spin)}, (k, v) => (k === 'data' ? Uint8Array.from(v) : v));`,
      'await engine.info();',
      then,
      'console.log(engine.stats().pid);',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const host = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(host.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    expect(processAlive(pid)).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // the render is under way
    host.kill('SIGKILL');
    await vi.waitFor(() => expect(processAlive(pid!)).toBe(false), { timeout: 10_000 });
  });

  it('info() waits for the engine that runs when a render with another cap abandons the start it waited for', async () => {
    const engine = engineWith({ idleTimeoutMs: Infinity });
    const info = engine.info(); // starts an engine with the default cap (512 MiB)
    const render = engine.render(request(umbrella, { maxMemoryBytes: 256 * MiB })); // another cap: that start is abandoned
    // Before, info() rejected with "the Helm wasm engine is closed" though it was not.
    await expect(info).resolves.toMatchObject({ helmVersion: expect.stringMatching(/^v4\./) });
    expect((await render).manifest).toContain('kind:');
  });

  it('info() gives up on a start frozen past its timeoutMs: HELM_ENGINE_FAILED, the process stopped, and the next info() starts one; an abort does the same', async () => {
    const engine = engineWith({ idleTimeoutMs: Infinity });
    const before = new Set(enginePids());
    const info = engine.info({ timeoutMs: 3000 });
    // Freeze the engine's process as soon as it is forked, before it is ready (a start takes over a second).
    let frozen: number | undefined;
    await vi.waitFor(
      () => {
        frozen = enginePids().find((pid) => !before.has(pid));
        expect(frozen).toBeDefined();
      },
      { timeout: 10_000, interval: 5 },
    );
    process.kill(frozen!, 'SIGSTOP');
    // Before, info() waited for ever.
    await expect(info).rejects.toMatchObject({ code: 'HELM_ENGINE_FAILED', message: expect.stringContaining('did not start within 3000 ms') });
    await vi.waitFor(() => expect(processAlive(frozen!)).toBe(false), { timeout: 10_000 });
    expect(engine.stats().process).toBe('none');

    const aborting = new AbortController();
    const aborted = engine.info({ signal: aborting.signal });
    aborting.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await vi.waitFor(() => expect(enginePids().filter((pid) => !before.has(pid))).toEqual([]), { timeout: 10_000 });

    await expect(engine.info()).resolves.toMatchObject({ helmVersion: expect.stringMatching(/^v4\./) });
    // The frozen one and this one: the aborted start ended before it forked.
    expect(engine.stats().processesStarted).toBe(2);
  });

  it('close() of an idle engine resolves with nothing else keeping the process up', async () => {
    const script = "import { WasmEngine } from '@converge/helm-render'; const e = new WasmEngine(); await e.info(); await e.close(); console.log('closed');";
    const host = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    host.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(host, 'exit')) as [number];
    // Before: the killed process's exit was awaited on an unref'd handle, so Node ended the
    // script with code 13 (unsettled top-level await) before close() resolved.
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: 'closed' });
  });

  it('refuses a negative or non-numeric idleTimeoutMs or recycleAboveMemoryBytes with INVALID_OPTIONS naming it', () => {
    expect(() => new WasmEngine({ idleTimeoutMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', data: { option: 'idleTimeoutMs' } }));
    expect(() => new WasmEngine({ recycleAboveMemoryBytes: Number.NaN })).toThrow(/recycleAboveMemoryBytes must be a number of bytes/);
  });
});
