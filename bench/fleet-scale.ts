// Benchmark: a fleet of N apps × M objects in pull mode on a real kube-apiserver + etcd (issue 16, deliverable 6).
//
// A fleet (createFleet: one spec file per app, one sink, one reconciler per app, at most maxConcurrentPasses app
// passes at once); each app gets its own namespace holding M ConfigMaps (plain YAML from a memory source); every
// app runs its own loop and watches its objects for drift.
// For each fleet size, in a fresh process and a fresh control plane, it measures:
//   first sync        from the fleet's start() (its own pass included) until every app has applied once, next to the limit measured just before on
//                     the same control plane: the same number of server-side applies (other names) from a bare
//                     HTTP loop at 64 in flight (no discovery, reads, planning, inventory or events), and the ratio;
//                     the loop runs in a process of its own and deletes its ConfigMaps afterwards, so neither its
//                     memory nor its objects (in the fleet's cluster-wide watch cache) count in the fleet's RSS
//   RSS               after the first sync, and after the idle window; after idle also what it is made of: the V8 heap
//                     (used and reserved, per space), external memory, anonymous memory and mapped files (Linux)
//   idle CPU          CPU time of this process per idle minute (passes, watches, timers)
//   idle requests     API requests per idle minute (all of them: sinks and the watch cache), and writes (target 0)
//   open watches      watch requests the API server serves for this process (apiserver_longrunning_requests,
//                     minus those open before the fleet started), next to what per-app watches opened
//                     before shared watches (one per kind and namespace an app manages: 2 per app here)
//
// `--helm N`: the first N apps render the same objects from a Helm chart (one template ranging over `objects`) with
// helm-render's wasm engine, one engine for the process as helmChart() shares it. `--helm-bound on|off|both` (default
// both): on = the engine's defaults (its process stopped after 30 s without a render, one left above 128 MiB of
// WebAssembly memory replaced), off = a WasmEngine that keeps its process (idleTimeoutMs and recycleAboveMemoryBytes
// Infinity). The engine runs in a child process of its own: the figures then add the engine's state and its process's
// RSS after sync and after idle (the fleet's RSS is the fleet's process alone).
//
// Run: `npm run build && node bench/fleet-scale.ts [--apps 100,500,1000] [--objects 20] [--idle-seconds 60] [--interval-seconds 30] [--cache-reads off]
//   [--max-in-flight 64] [--qps 50 --burst 100] [--max-concurrent-passes 16]`
// (`--cache-reads off`: every pass reads live objects from the API server, the baseline for idle requests;
// `--max-in-flight`, `--qps`, `--burst`: a request limiter of the bench's own instead of the default one, `Infinity` for none;
// `--max-concurrent-passes`: the fleet's bound on app passes at once instead of its default (16), `Infinity` for none;
// `--node-flags "--max-semi-space-size=1"`: Node/V8 flags for the fleet's process; `--heap-snapshots DIR`: the fleet's
// process writes a heap snapshot after sync and after idle, and its /proc/self/smaps after idle, to find what holds memory.)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { CoreV1Api } from '@kubernetes/client-node';
import { parseManifests, yamlFiles } from '@converge/core';
import { createFleet } from '@converge/fleet';
import { memorySource } from '@converge/core/testing';
import { WasmEngine, defaultWasmEngine, helmChart } from '@converge/helm-render';
import type { WasmHostStats } from '@converge/wasm-host';
import { createRequestLimiter, createWatchCache, kubeSink } from '@converge/kube-sink';
import type { KubeRequestInfo, RequestLimiterOptions } from '@converge/kube-sink';
import { loadKubeConfig, openWatches, startTestEnv } from '@converge/kube-testenv';
import { bareApply, bareRequests } from './bare-apply.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

interface Figures {
  apps: number;
  objects: number;
  firstSyncMs: number;
  /** CPU time of this process during the first sync (its own threads: main, GC helpers, libuv). */
  syncCpuMs: number;
  /** The limit, on the same control plane just before: the same number of server-side applies (other names) from a bare loop, 64 in flight. */
  bareMs: number;
  /** The 1-minute load average when the first sync started and when it ended. */
  load: [number, number];
  rssAfterSyncMiB: number;
  rssAfterIdleMiB: number;
  /** What RSS after idle is made of in part: the V8 heap of the main thread (used, and reserved) and memory outside it that V8 knows of (array buffers, wasm modules). */
  heapAfterIdle: { usedMiB: number; totalMiB: number; externalMiB: number; anonMiB?: number; fileMiB?: number; spaces: Record<string, [used: number, size: number]> };
  idleCpuMsPerMin: number;
  idleRequestsPerMin: number;
  idleWrites: number;
  idlePasses: number;
  /** Requests of the first sync that got no answer (timed out) or a 429/5xx. */
  syncFailedRequests: number;
  /** Passes that failed during the first sync (and were retried). */
  syncFailedPasses: number;
  /** Requests sent during the first sync. */
  syncRequests: number;
  /** The slowest answer during the first sync, and the 99th percentile, in ms (time on the wire, not waiting for a slot). */
  syncMaxRequestMs: number;
  syncP99RequestMs: number;
  watches: number;
  perAppWatches: number;
  /** Apps rendered by Helm, and whether the engine's memory bound was on. */
  helmApps: number;
  helmBound: boolean;
  /** The Helm engine after the first sync and after the idle window (undefined without Helm apps). */
  helmAfterSync?: WasmHostStats;
  helmAfterIdle?: WasmHostStats;
}

const MiB = 1024 * 1024;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

function appFiles(app: string, objects: number): Record<string, string> {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${app}\n`];
  for (let i = 0; i < objects; i++) {
    docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: ${app}\n  labels:\n    app: ${app}\ndata:\n  key: value-${i}\n  settings.yaml: |\n    replicas: 2\n    feature: ${i % 2 === 0 ? 'on' : 'off'}\n`);
  }
  return { 'app.yaml': docs.join('---\n') };
}

/** The same objects as {@link appFiles}, as a Helm chart in `chart/` rendered with `objects` in its values. */
function helmAppFiles(): Record<string, string> {
  return {
    'chart/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n',
    'chart/values.yaml': 'objects: 20\n',
    'chart/templates/objects.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: {{ .Release.Namespace }}
{{- range $i := until (int .Values.objects) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-{{ $i }}
  namespace: {{ $.Release.Namespace }}
  labels:
    app: {{ $.Release.Name }}
data:
  key: value-{{ $i }}
  settings.yaml: |
    replicas: 2
    feature: {{ if eq (mod $i 2) 0 }}on{{ else }}off{{ end }}
{{- end }}
`,
  };
}

/** RSS split into anonymous memory (heaps, malloc) and mapped files (the node binary's code), on Linux. */
function procStatus(): { anonMiB?: number; fileMiB?: number } {
  if (!existsSync('/proc/self/status')) return {};
  const text = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { anonMiB: kib('RssAnon'), fileMiB: kib('RssFile') };
}

/** One fleet size, in this process. */
async function measure(apps: number, objects: number, idleSeconds: number, intervalSeconds: number, cacheReads: boolean, limits: RequestLimiterOptions): Promise<Figures> {
  const env = await startTestEnv();
  try {
    const kubeConfig = env.kubeConfig;
    // The limit first: every object of the fleet (under other names) applied by a bare loop, in a process of its own so
    // that its requests and buffers are not counted in the fleet's memory.
    const bareMs = JSON.parse(await childLine(['--bare', env.kubeconfigPath, '--apps', String(apps), '--objects', String(objects)], 'BARE ')) as number;
    // Counts and durations only: keeping every request's record would add the bench's own memory to the fleet's.
    const tally = { requests: 0, failed: 0, writes: 0, durationsMs: [] as number[] };
    const count = (info: KubeRequestInfo) => {
      tally.requests++;
      if (info.status === 0 || info.status === 429 || info.status >= 500) tally.failed++;
      if (info.write) tally.writes++;
      if (!info.path.includes('watch=true')) tally.durationsMs.push(info.durationMs);
    };
    const watchesBefore = await openWatches(kubeConfig);
    // Without --max-in-flight/--qps: the process's limiter for the KubeConfig, with its defaults.
    const requestLimiter = Object.keys(limits).length > 0 ? createRequestLimiter(limits) : undefined;
    const watchCache = createWatchCache({ kubeConfig, onRequest: count, ...(requestLimiter && { requestLimiter }) });
    // The fleet's shape: one sink for every app (a sink per app shares the same watches through its KubeConfig).
    const sink = kubeSink({ kubeConfig, watchCache, cacheReads, onRequest: count, inventory: { namespace: 'default' }, ...(requestLimiter && { requestLimiter }) });
    // Bound: the engine helmChart() shares by default. Unbound: one that keeps its process.
    const helmEngine = helmApps === 0 ? undefined : helmBound ? defaultWasmEngine() : new WasmEngine({ idleTimeoutMs: Infinity, recycleAboveMemoryBytes: Infinity });
    const synced = new Set<string>();
    let passes = 0;
    let failedPasses = 0;
    let allSynced!: () => void;
    const done = new Promise<void>((resolve) => (allSynced = resolve));
    const perApp = new Set<string>();
    // A fleet of one spec file per app (`render: { helm: true }` for the Helm ones), each app's source its own files.
    const specFiles: Record<string, string> = {};
    for (let a = 0; a < apps; a++) {
      const name = `app-${a}`;
      specFiles[`apps/${name}.yaml`] = helmEngine && a < helmApps ? 'render: { helm: true }\n' : '{}\n';
      // What the per-app watches of before opened: one per kind and namespace the app manages.
      perApp.add(`Namespace/${name}`).add(`ConfigMap/${name}`);
    }
    const fleet = createFleet({
      name: 'bench',
      source: memorySource(specFiles, { id: 'specs' }),
      path: 'apps',
      sink,
      appDefaults: { intervalMs: intervalSeconds * 1000, prune: true },
      ...(maxConcurrentPasses !== undefined && { maxConcurrentPasses }),
      createApp: (spec) => {
        const helm = helmEngine && spec.render?.['helm'] === true;
        const files = helm ? helmAppFiles() : appFiles(spec.name, objects);
        const render = helm ? helmChart({ chart: 'chart', releaseName: spec.name, namespace: spec.name, values: { objects }, engine: helmEngine }) : yamlFiles();
        return { source: memorySource(files, { id: spec.name }), render };
      },
    });
    fleet.on('pass.succeeded', (e) => {
      passes++;
      if (synced.has(e.reconciler)) return;
      synced.add(e.reconciler);
      if (synced.size === apps) allSynced();
    });
    fleet.on('pass.failed', (e) => {
      failedPasses++;
      console.error(`  ${e.reconciler}: ${e.error.code} ${e.error.message}`);
    });
    fleet.on('fleet.pass.failed', (e) => console.error(`  fleet pass: ${e.error.code} ${e.error.message}`));

    const loadBefore = loadavg()[0] as number;
    const started = performance.now();
    const syncCpuBefore = process.cpuUsage();
    // The fleet's own pass (spec files, its record) first, then every app's first pass, at most maxConcurrentPasses at once.
    fleet.start();
    await done;
    const firstSyncMs = performance.now() - started;
    const syncCpu = process.cpuUsage(syncCpuBefore);
    const load: [number, number] = [loadBefore, loadavg()[0] as number];
    const syncRequests = tally.requests;
    const syncFailedRequests = tally.failed;
    const syncFailedPasses = failedPasses;
    const durations = tally.durationsMs.sort((a, b) => a - b);
    tally.durationsMs = [];
    const syncMaxRequestMs = durations.at(-1) ?? 0;
    const syncP99RequestMs = durations[Math.floor(durations.length * 0.99)] ?? 0;
    // Let the last watches open and the debounce of our own writes pass.
    await settle(3000);
    global.gc?.();
    const rssAfterSync = process.memoryUsage().rss;
    const helmAfterSync = helmEngine?.stats();
    if (heapSnapshots) writeHeapSnapshot(join(heapSnapshots, `fleet-${apps}-after-sync.heapsnapshot`));

    const requestsBefore = tally.requests;
    const writesBefore = tally.writes;
    const passesBefore = passes;
    const cpuBefore = process.cpuUsage();
    const idleStarted = performance.now();
    await settle(idleSeconds * 1000);
    const idleMs = performance.now() - idleStarted;
    const cpu = process.cpuUsage(cpuBefore);
    const watches = (await openWatches(kubeConfig)) - watchesBefore;
    global.gc?.();
    const rssAfterIdle = process.memoryUsage().rss;
    const heap = process.memoryUsage();
    const helmAfterIdle = helmEngine?.stats();
    const status = procStatus();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().filter((x) => x.space_size >= MiB).map((x) => [x.space_name.replace(/_space$/, ''), [x.space_used_size / MiB, x.space_size / MiB]]));
    if (heapSnapshots) {
      writeFileSync(join(heapSnapshots, `fleet-${apps}-after-idle.smaps`), readFileSync('/proc/self/smaps'));
      writeHeapSnapshot(join(heapSnapshots, `fleet-${apps}-after-idle.heapsnapshot`));
    }
    const perMinute = 60_000 / idleMs;

    await fleet.stop();
    await helmEngine?.close();
    await sink.close();
    await watchCache.close();
    return {
      apps,
      objects,
      firstSyncMs,
      syncCpuMs: (syncCpu.user + syncCpu.system) / 1000,
      bareMs,
      load,
      rssAfterSyncMiB: rssAfterSync / MiB,
      rssAfterIdleMiB: rssAfterIdle / MiB,
      heapAfterIdle: { usedMiB: heap.heapUsed / MiB, totalMiB: heap.heapTotal / MiB, externalMiB: heap.external / MiB, ...status, spaces },
      idleCpuMsPerMin: ((cpu.user + cpu.system) / 1000) * perMinute,
      idleRequestsPerMin: (tally.requests - requestsBefore) * perMinute,
      idleWrites: tally.writes - writesBefore,
      idlePasses: passes - passesBefore,
      syncFailedRequests,
      syncFailedPasses,
      syncRequests,
      syncMaxRequestMs,
      syncP99RequestMs,
      watches,
      perAppWatches: perApp.size,
      helmApps,
      helmBound,
      helmAfterSync,
      helmAfterIdle,
    };
  } finally {
    await env.stop();
  }
}

/** The `--node-flags` (space-separated V8/Node flags, e.g. `--max-semi-space-size=4`) go to the fleet's process only. */
const execFlags = (args: string[]): string[] => (args[0] === '--child' && arg('node-flags', '') ? arg('node-flags', '').split(' ') : []);

/** Runs this file in a new process with `args` and answers the text after `tag` on the line of its output that starts with it. */
function childLine(args: string[], tag: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...execFlags(args), fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(tag));
      if (code === 0 && line) resolve(line.slice(tag.length));
      else reject(new Error(`${args.join(' ')} failed (exit ${code}):\n${out}`));
    });
  });
}

async function runChild(apps: number, bound: boolean): Promise<Figures> {
  const args = ['--child', String(apps), '--objects', String(objects), '--idle-seconds', String(idleSeconds), '--interval-seconds', String(intervalSeconds), '--cache-reads', cacheReads ? 'on' : 'off', ...(maxConcurrentPasses !== undefined ? ['--max-concurrent-passes', String(maxConcurrentPasses)] : []), ...limitArgs, '--helm', String(helmApps), '--helm-bound', bound ? 'on' : 'off', ...(heapSnapshots ? ['--heap-snapshots', heapSnapshots] : [])];
  return JSON.parse(await childLine(args, 'FIGURES ')) as Figures;
}

const objects = Number(arg('objects', '20'));
const idleSeconds = Number(arg('idle-seconds', '60'));
const intervalSeconds = Number(arg('interval-seconds', '30'));
const cacheReads = arg('cache-reads', 'on') !== 'off';
const helmApps = Number(arg('helm', '0'));
// A directory: the fleet's process writes a V8 heap snapshot after sync and after idle (each after RSS is read; writing one costs memory).
const heapSnapshots = arg('heap-snapshots', '');
// The parent runs each size with the bound and without (`both`); a child runs the one it is given.
const helmBounds = helmApps === 0 ? [true] : arg('helm-bound', 'both') === 'both' ? [true, false] : [arg('helm-bound', 'on') !== 'off'];
const helmBound = helmBounds[0] as boolean;
// The fleet's bound on passes at once (createFleet's maxConcurrentPasses); without it, the fleet's default.
const maxConcurrentPasses = arg('max-concurrent-passes', '') ? Number(arg('max-concurrent-passes', '')) : undefined;
// Client-side flow control (createRequestLimiter); `--max-in-flight Infinity` turns the cap off.
const limitArgs = ['max-in-flight', 'qps', 'burst'].flatMap((name) => (arg(name, '') ? [`--${name}`, arg(name, '')] : []));
const limits: RequestLimiterOptions = {
  ...(arg('max-in-flight', '') && { maxInFlight: Number(arg('max-in-flight', '')) }),
  ...(arg('qps', '') && { qps: Number(arg('qps', '')) }),
  ...(arg('burst', '') && { burst: Number(arg('burst', '')) }),
};

if (process.argv.includes('--bare')) {
  const apps = Number(arg('apps', '100'));
  const bareObjects = Array.from({ length: apps }, (_, a) => Object.entries(appFiles(`bare-${a}`, objects)).flatMap(([file, text]) => parseManifests(text, file))).flat();
  const kubeConfig = loadKubeConfig(readFileSync(arg('bare', ''), 'utf8'));
  const { ms } = await bareApply(kubeConfig, bareRequests(bareObjects, 'bare'), 64);
  // Then its ConfigMaps go (untimed), so the fleet's watch cache, which lists ConfigMaps in every namespace, holds the fleet's own.
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (let a = 0; a < apps; a++) await core.deleteCollectionNamespacedConfigMap({ namespace: `bare-${a}` });
  console.log(`BARE ${ms}`);
  process.exit(0);
}

if (process.argv.includes('--child')) {
  const apps = Number(arg('child', '100'));
  const figures = await measure(apps, objects, idleSeconds, intervalSeconds, cacheReads, limits);
  console.log(`FIGURES ${JSON.stringify(figures)}`);
  process.exit(0);
}

const sizes = arg('apps', '100,500,1000').split(',').map(Number);
console.log(
  `fleet scale: apps × ${objects} ConfigMaps (+1 Namespace), pull mode, interval ${intervalSeconds} s, idle window ${idleSeconds} s, ` +
    `live reads from the watch cache ${cacheReads ? 'on' : 'off'}, request limiter ${limitArgs.length ? limitArgs.join(' ') : 'default'}, ` +
    `app passes at once ${maxConcurrentPasses ?? 'default (16)'}, the fleet's Node flags ${arg('node-flags', '') || 'none'}; one process and control plane per size` +
    `${helmApps > 0 ? `; the first ${helmApps} apps render a Helm chart (wasm engine; memory bound ${helmBounds.map((b) => (b ? 'on' : 'off')).join(', then ')})` : ''}\n`,
);
const rows: Figures[] = [];
for (const [apps, bound] of sizes.flatMap((n) => helmBounds.map((b) => [n, b] as const))) {
  const f = await runChild(apps, bound);
  if (bound) rows.push(f); // growth compares runs with the defaults
  console.log(
    `${String(apps).padStart(5)} apps (${apps * (objects + 1)} objects): first sync ${(f.firstSyncMs / 1000).toFixed(1)} s ` +
      `(bare apply loop ${(f.bareMs / 1000).toFixed(1)} s: ${(f.firstSyncMs / f.bareMs).toFixed(2)}×; load ${f.load.map((l) => l.toFixed(1)).join(' → ')}) ` +
      `(CPU ${(f.syncCpuMs / 1000).toFixed(1)} s, ${f.syncRequests} requests, ${f.syncFailedRequests} timed out or 429/5xx, ${f.syncFailedPasses} failed passes, ` +
      `slowest answer ${(f.syncMaxRequestMs / 1000).toFixed(1)} s, p99 ${(f.syncP99RequestMs / 1000).toFixed(1)} s), ` +
      `RSS ${f.rssAfterSyncMiB.toFixed(0)} MiB after sync / ${f.rssAfterIdleMiB.toFixed(0)} MiB after idle, ` +
      `idle CPU ${(f.idleCpuMsPerMin / 1000).toFixed(2)} s/min, idle requests ${f.idleRequestsPerMin.toFixed(0)}/min ` +
      `(${f.idlePasses} idle passes, ${f.idleWrites} writes), watches ${f.watches} (per-app watches: ${f.perAppWatches}, ${(f.perAppWatches / Math.max(1, f.watches)).toFixed(0)}× more)`,
  );
  const h = f.heapAfterIdle;
  console.log(`      RSS after idle ${f.rssAfterIdleMiB.toFixed(0)} MiB: V8 heap ${h.usedMiB.toFixed(0)} MiB used of ${h.totalMiB.toFixed(0)} MiB, external ${h.externalMiB.toFixed(0)} MiB, the rest native (Node, buffers, code, freed memory not returned)${h.anonMiB !== undefined ? `; anonymous ${h.anonMiB.toFixed(0)} MiB, mapped files ${h.fileMiB!.toFixed(0)} MiB` : ''}`);
  console.log(`      V8 heap spaces after idle (MiB used/size): ${Object.entries(h.spaces).map(([name, [used, size]]) => `${name} ${used.toFixed(0)}/${size.toFixed(0)}`).join(', ')}`);
  if (f.helmApps > 0) {
    const engine = (s?: WasmHostStats) =>
      s ? `process ${s.process}, its RSS ${(s.rssBytes / MiB).toFixed(0)} MiB, WebAssembly memory ${(s.memoryBytes / MiB).toFixed(0)} MiB, ${s.processesStarted} process(es) started` : '—';
    console.log(`      Helm engine (${f.helmApps} apps, memory bound ${f.helmBound ? 'on' : 'off'}): after sync ${engine(f.helmAfterSync)}; after idle ${engine(f.helmAfterIdle)}`);
  }
}
if (rows.length > 1) {
  const first = rows[0] as Figures;
  console.log(`\ngrowth relative to ${first.apps} apps:`);
  for (const f of rows.slice(1)) {
    const x = (a: number, b: number) => (b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
    console.log(
      `  ${f.apps} apps (${x(f.apps, first.apps)} apps): first sync ${x(f.firstSyncMs, first.firstSyncMs)}, RSS after sync ${x(f.rssAfterSyncMiB, first.rssAfterSyncMiB)}, ` +
        `RSS after idle ${x(f.rssAfterIdleMiB, first.rssAfterIdleMiB)}, idle CPU ${x(f.idleCpuMsPerMin, first.idleCpuMsPerMin)}, ` +
        `idle requests ${x(f.idleRequestsPerMin, first.idleRequestsPerMin)}, watches ${f.watches} vs ${first.watches}`,
    );
  }
}
