// Benchmark: what one Helm wasm engine costs a process's memory, and what its lifetime bound gives back
// (issue 16, deliverable 6). Each variant runs in a fresh process:
//
//   unbounded      idleTimeoutMs and recycleAboveMemoryBytes Infinity: the engine's process kept
//   bounded        the defaults, with idleTimeoutMs from --idle-timeout-ms: the engine's process stopped when idle
//   recycled       every render replaces the engine's process (recycleAboveMemoryBytes 0): what a process start costs
//
// The engine runs in a child process of its own, so every figure is the host's RSS plus the engine process's (host + engine).
// For each: RSS at start; after the first render (start, compile, render) and the peak RSS until then (the host's plus the
// engine's, each its own peak); after --renders more renders of a test fixture chart; after the idle window
// (--idle-timeout-ms plus 2 s); after close(). And the engine's WebAssembly memory after the renders (its stats()).
//
//   npm run build -w @converge/helm-render   # dist/ and the wasm
//   node bench/helm-memory.mjs [--renders 100] [--chart umbrella] [--idle-timeout-ms 30000]
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'packages', 'helm-render');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const renders = Number(arg('renders', '100'));
const chart = arg('chart', 'umbrella');
const idleTimeoutMs = Number(arg('idle-timeout-ms', '30000'));
const MiB = 1024 * 1024;
const mib = (bytes) => Math.round(bytes / MiB);

const VARIANTS = {
  unbounded: { idleTimeoutMs: Infinity, recycleAboveMemoryBytes: Infinity },
  bounded: { idleTimeoutMs },
  recycled: { idleTimeoutMs: Infinity, recycleAboveMemoryBytes: 0 },
};

async function child(variant) {
  const { WasmEngine } = await import(join(pkg, 'dist', 'index.js'));
  const chartRoot = join(pkg, 'test', 'fixtures', 'charts', chart);
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push({ name: relative(chartRoot, p).split('\\').join('/'), data: new Uint8Array(readFileSync(p)) });
    }
  };
  walk(chartRoot);
  const request = {
    files, values: [], releaseName: 'bench', namespace: 'default', kubeVersion: '', apiVersions: [], includeCRDs: true, skipTests: false,
    disableHooks: false, isUpgrade: false, skipSchemaValidation: false, maxMemoryBytes: 512 * MiB, maxOutputBytes: 64 * MiB, timeoutMs: 60_000,
  };
  /** A line of /proc/<pid>/status (VmRSS, VmHWM) in bytes; 0 without a process. */
  const status = (pid, field) => {
    if (pid === undefined) return 0;
    try {
      return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  };
  let engine;
  const split = (host, engineRss) => ({ host, engine: engineRss, total: host + engineRss });
  const rss = () => {
    globalThis.gc();
    return split(process.memoryUsage().rss, status(engine?.stats().pid, 'VmRSS'));
  };
  const figures = { start: rss() };
  engine = new WasmEngine(VARIANTS[variant]);
  let t = performance.now();
  const first = await engine.render(request);
  figures.firstRenderMs = performance.now() - t;
  figures.afterFirst = rss();
  figures.peakFirst = split(process.resourceUsage().maxRSS * 1024, status(engine.stats().pid, 'VmHWM'));
  t = performance.now();
  for (let i = 0; i < renders; i++) {
    if ((await engine.render(request)).manifest !== first.manifest) throw new Error('the output changed between renders');
  }
  figures.renderMs = (performance.now() - t) / renders;
  figures.afterRenders = rss();
  figures.wasmMemory = engine.stats().memoryBytes;
  await new Promise((r) => setTimeout(r, idleTimeoutMs + 2000));
  figures.afterIdle = rss();
  figures.idleStats = engine.stats();
  await engine.close();
  await new Promise((r) => setTimeout(r, 500));
  figures.afterClose = rss();
  return figures;
}

function runChild(variant) {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', fileURLToPath(import.meta.url), '--child', variant, '--renders', String(renders), '--chart', chart, '--idle-timeout-ms', String(idleTimeoutMs)];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('FIGURES '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('FIGURES '.length)));
      else reject(new Error(`${variant} failed (exit ${code}):\n${out}`));
    });
  });
}

if (process.argv.includes('--child')) {
  console.log(`FIGURES ${JSON.stringify(await child(arg('child', 'bounded')))}`);
  process.exit(0);
}

console.log(`one Helm wasm engine, chart ${chart}, ${renders} renders, idle window ${idleTimeoutMs + 2000} ms; RSS in MiB as host + engine process = total, each variant in a fresh process\n`);
const cell = (r) => `${mib(r.host)}+${mib(r.engine)}=${mib(r.total)}`;
console.log('variant        start          first render        peak                after renders   WebAssembly memory  after idle      after close     first render  per render');
for (const variant of Object.keys(VARIANTS)) {
  const f = await runChild(variant);
  console.log(
    `${variant.padEnd(13)} ${cell(f.start).padEnd(14)} ${cell(f.afterFirst).padEnd(19)} ${cell(f.peakFirst).padEnd(19)} ${cell(f.afterRenders).padEnd(15)} ` +
      `${String(mib(f.wasmMemory)).padStart(18)}  ${cell(f.afterIdle).padEnd(15)} ${cell(f.afterClose).padEnd(15)} ` +
      `${`${(f.firstRenderMs / 1000).toFixed(1)} s`.padStart(12)}  ${`${f.renderMs.toFixed(0)} ms`.padStart(10)}   (idle: engine process ${f.idleStats.process})`,
  );
}
