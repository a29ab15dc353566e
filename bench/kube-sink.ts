// Benchmark: @converge/kube-sink vs `kubectl apply --server-side` on a real kube-apiserver + etcd.
//
// 1,000 objects (500 ConfigMaps, 500 Deployments) across 10 namespaces, written as YAML files.
// Converge and kubectl each get their own 10 namespaces so both really create everything.
//   1. first apply:  a Converge push pass (directorySource + yamlFiles + kubeSink)  vs  kubectl apply --server-side -f dir
//   2. no-op pass:   the same Converge pass again                                    vs  kubectl apply again, kubectl diff --server-side
//   0. the limit:    the same 1,010 server-side applies sent by a bare HTTP loop (no discovery, planning,
//                    inventory or events; objects parsed beforehand) on the same kind of connection pool
//                    (client-node's undici dispatcher, as kube-sink's transport uses), at a few
//                    concurrencies; the best is the baseline
// Targets (issue 4): first apply ≥ 3× faster than kubectl; no-op ≥ 10× faster and zero writes.
// Target (issue 16): first apply within 1.2× of the bare loop's best.
//
// Run: `npm run build && node bench/kube-sink.ts` (needs the kube assets; see packages/kube-testenv).
// ROUNDS=5 for more rounds; BARE_CONCURRENCY=16,32,64,128 for the bare loop's concurrencies.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReconciler, directorySource, parseManifests, yamlFiles } from '@converge/core';
import { kubeSink, type KubeRequestInfo } from '@converge/kube-sink';
import { startTestEnv } from '@converge/kube-testenv';
import { bareApply, bareRequests, cpuMs } from './bare-apply.ts';
import { stats } from './stats.mjs';

const NAMESPACES = 10;
const PER_NAMESPACE = 100; // half ConfigMaps, half Deployments

function manifests(prefix: string): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    '00-namespaces.yaml',
    Array.from({ length: NAMESPACES }, (_, n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${prefix}-${n}\n`).join('---\n'),
  );
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `${prefix}-${n}`;
    const docs: string[] = [];
    for (let i = 0; i < PER_NAMESPACE / 2; i++) {
      docs.push(
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: ${ns}\n  labels:\n    app: app-${i}\n` +
          `data:\n  key: value-${i}\n  settings.yaml: |\n    replicas: 2\n    feature: ${i % 2 === 0 ? 'on' : 'off'}\n`,
      );
      docs.push(
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\n  namespace: ${ns}\n  labels:\n    app: app-${i}\n` +
          `spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app-${i}\n  template:\n    metadata:\n      labels:\n        app: app-${i}\n` +
          `    spec:\n      containers:\n        - name: main\n          image: registry.local/app:${i}\n          ports:\n            - containerPort: 8080\n`,
      );
    }
    files.set(`${String(n + 1).padStart(2, '0')}-${ns}.yaml`, docs.join('---\n'));
  }
  return files;
}

async function writeDir(dir: string, files: Map<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of files) await writeFile(join(dir, name), text);
}

interface Run {
  ms: number;
  requests: number;
  writes: number;
}

/** Runs kubectl with -v=6 and counts the HTTP requests it logs. */
function kubectl(bin: string, args: string[], okCodes: number[] = [0]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(bin, [...args, '-v=6'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KUBECACHEDIR: cacheDir } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (!okCodes.includes(code ?? -1)) return reject(new Error(`kubectl ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      // klog -v=6 logs one line per request, e.g. `"Response" verb="PATCH" url="https://…" status="200 OK"`
      // (older: `PATCH https://… 200 OK in 3 milliseconds`).
      const verbs = [...stderr.matchAll(/verb="(\w+)"|\] (GET|PATCH|POST|PUT|DELETE) https?:\/\//g)].map((m) => m[1] ?? m[2]);
      resolve({ ms, requests: verbs.length, writes: verbs.filter((v) => v !== 'GET').length });
    });
  });
}

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a: number, b: number): string => `${(b / a).toFixed(2)}×`;

const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const BARE_CONCURRENCY = (process.env['BARE_CONCURRENCY'] ?? '16,32,64,128').split(',').map(Number);
const median = (xs: number[]): number => stats(xs).p50 as number;
const medianRun = (runs: Run[]): Run => ({ ms: median(runs.map((r) => r.ms)), requests: median(runs.map((r) => r.requests)), writes: median(runs.map((r) => r.writes)) });

/** Where the time of a Converge pass went, from its requests: before the first object's PATCH, the PATCHes, after the last. */
interface Spans {
  /** This process's CPU time during the pass. */
  cpuMs: number;
  beforeApply: number;
  applying: number;
  afterApply: number;
}

function spansOf(started: number, ended: number, cpu: number, requests: (KubeRequestInfo & { at: number })[]): Spans {
  // Objects are applied under the reconciler's own field manager (`converge:<name>`), the inventory under `converge`.
  const patches = requests.filter((r) => r.method === 'PATCH' && r.path.includes('fieldManager=converge%3A'));
  const first = Math.min(...patches.map((r) => r.at - r.durationMs));
  const last = Math.max(...patches.map((r) => r.at));
  return { cpuMs: cpu, beforeApply: first - started, applying: last - first, afterApply: ended - last };
}

const work = await mkdtemp(join(tmpdir(), 'converge-bench-kube-'));
const cacheDir = join(work, 'kubectl-cache');
const env = await startTestEnv();
try {
  if (!env.kubectlPath) throw new Error('no kubectl next to the kube assets; build them with packages/kube-testenv/scripts/build-assets.sh');
  console.log(`control plane ready in ${fmt(env.startupMs)} (${env.server}); kubectl ${env.kubectlPath}`);
  console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${ROUNDS} rounds, medians shown`);
  const objects = NAMESPACES * PER_NAMESPACE;
  const kubeconfig = ['--kubeconfig', env.kubeconfigPath];
  const results: Record<'cv1' | 'kc1' | 'cv2' | 'kc2' | 'kd', Run[]> = { cv1: [], kc1: [], cv2: [], kc2: [], kd: [] };
  const bare = new Map<number, number[]>(BARE_CONCURRENCY.map((c) => [c, []]));
  const bareCpu = new Map<number, number[]>(BARE_CONCURRENCY.map((c) => [c, []]));
  const spans: Spans[] = [];
  const counts: unknown[] = [];

  // Each round uses fresh namespaces, so every first apply really creates 1,010 objects.
  // Runs are interleaved so background load hits every side alike.
  for (let round = 0; round < ROUNDS; round++) {
    const convergeDir = join(work, `converge-${round}`);
    const kubectlDir = join(work, `kubectl-${round}`);
    await writeDir(convergeDir, manifests(`cv${round}`));
    await writeDir(kubectlDir, manifests(`kc${round}`));

    // Every other round in reverse, so a load that rises or falls through a round favours no concurrency.
    for (const c of round % 2 === 0 ? BARE_CONCURRENCY : [...BARE_CONCURRENCY].reverse()) {
      const { ms, cpuMs } = await bareApply(env.kubeConfig, bareRequests([...manifests(`bl${round}-${c}`)].flatMap(([name, text]) => parseManifests(text, name)), `bench-${round}`), c);
      bare.get(c)!.push(ms);
      bareCpu.get(c)!.push(cpuMs);
    }

    let requests: (KubeRequestInfo & { at: number })[] = [];
    const sink = kubeSink({
      kubeConfig: env.kubeConfig,
      inventory: { namespace: 'converge-bench' },
      onRequest: (r) => requests.push({ ...r, at: performance.now() }),
    });
    const reconciler = createReconciler({ name: `bench-${round}`, source: directorySource(convergeDir), render: yamlFiles(), sink, prune: true });
    const pass = async (): Promise<Run & Spans> => {
      requests = [];
      const started = performance.now();
      const cpu = process.cpuUsage();
      const result = await reconciler.reconcile();
      const ended = performance.now();
      const used = cpuMs(process.cpuUsage(cpu));
      if (result.status !== 'succeeded') throw new Error(`pass ${result.status}: ${result.error?.message}`);
      counts.push(result.counts);
      return { ms: ended - started, requests: requests.length, writes: requests.filter((r) => r.write).length, ...spansOf(started, ended, used, requests) };
    };

    const first = await pass();
    results.cv1.push(first);
    spans.push(first);
    results.kc1.push(await kubectl(env.kubectlPath, [...kubeconfig, 'apply', '--server-side', '-f', kubectlDir]));
    results.cv2.push(await pass());
    results.kc2.push(await kubectl(env.kubectlPath, [...kubeconfig, 'apply', '--server-side', '-f', kubectlDir]));
    results.kd.push(await kubectl(env.kubectlPath, [...kubeconfig, 'diff', '--server-side', '-f', kubectlDir], [0, 1]));
    await sink.close();
    console.log(
      `round ${round + 1}: first apply bare loop ${BARE_CONCURRENCY.map((c) => `${fmt(bare.get(c)![round]!)} at ${c}`).join(', ')} / ` +
        `converge ${fmt(results.cv1[round]!.ms)} (${fmt(first.beforeApply)} before the first PATCH, ${fmt(first.applying)} of PATCHes, ${fmt(first.afterApply)} after) / ` +
        `kubectl ${fmt(results.kc1[round]!.ms)}; ` +
        `no-op converge ${fmt(results.cv2[round]!.ms)} / kubectl apply ${fmt(results.kc2[round]!.ms)} / kubectl diff ${fmt(results.kd[round]!.ms)}`,
    );
  }

  const [bestConcurrency, bestBare] = [...bare].map(([c, ms]) => [c, median(ms)] as const).reduce((a, b) => (b[1] < a[1] ? b : a));
  const cv1 = medianRun(results.cv1);
  const kc1 = medianRun(results.kc1);
  const cv2 = medianRun(results.cv2);
  const kc2 = medianRun(results.kc2);
  const kd = medianRun(results.kd);
  const rows: [string, Run][] = [
    ...[...bare].map(([c, ms]): [string, Run] => [`bare apply loop, ${c} in flight`, { ms: median(ms), requests: objects + NAMESPACES, writes: objects + NAMESPACES }]),
    ['converge first apply (push pass)', cv1],
    ['kubectl apply --server-side', kc1],
    ['converge no-op pass', cv2],
    ['kubectl apply --server-side again', kc2],
    ['kubectl diff --server-side', kd],
  ];
  console.log(`\n${objects} objects (+${NAMESPACES} namespaces) across ${NAMESPACES} namespaces; load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  console.log(`${'run'.padEnd(36)}${'time'.padStart(10)}${'min'.padStart(10)}${'requests'.padStart(10)}${'writes'.padStart(8)}`);
  const mins = new Map<string, number>([
    ...[...bare].map(([c, ms]): [string, number] => [`bare apply loop, ${c} in flight`, stats(ms).min as number]),
    ['converge first apply (push pass)', stats(results.cv1.map((r) => r.ms)).min as number],
    ['kubectl apply --server-side', stats(results.kc1.map((r) => r.ms)).min as number],
    ['converge no-op pass', stats(results.cv2.map((r) => r.ms)).min as number],
    ['kubectl apply --server-side again', stats(results.kc2.map((r) => r.ms)).min as number],
    ['kubectl diff --server-side', stats(results.kd.map((r) => r.ms)).min as number],
  ]);
  for (const [name, r] of rows) {
    console.log(`${name.padEnd(36)}${fmt(r.ms).padStart(10)}${fmt(mins.get(name)!).padStart(10)}${String(r.requests).padStart(10)}${String(r.writes).padStart(8)}`);
  }
  const span = (k: keyof Spans): string => fmt(median(spans.map((s) => s[k])));
  console.log(`\nclient CPU: bare loop ${BARE_CONCURRENCY.map((c) => `${fmt(median(bareCpu.get(c)!))} at ${c}`).join(', ')}; converge first apply ${span('cpuMs')}`);
  console.log(`converge first apply: ${span('beforeApply')} before the first object's PATCH (source, render, discovery, reads, plan, inventory), ${span('applying')} of PATCHes, ${span('afterApply')} after`);
  console.log(`converge pass counts (first, no-op): ${JSON.stringify(counts.slice(0, 2))}`);
  const firstRatio = kc1.ms / cv1.ms;
  const noopRatio = kc2.ms / cv2.ms;
  const limitRatio = cv1.ms / bestBare;
  const noopWrites = Math.max(...results.cv2.map((r) => r.writes));
  console.log(`first apply: converge takes ${ratio(bestBare, cv1.ms)} the bare loop's best (${bestConcurrency} in flight) (target ≤ 1.2×) ${limitRatio <= 1.2 ? 'PASS' : 'MISS'}`);
  console.log(`first apply: the bare loop is ${ratio(bestBare, kc1.ms)} faster than kubectl apply`);
  console.log(`first apply: converge is ${ratio(cv1.ms, kc1.ms)} faster than kubectl apply (target ≥ 3×) ${firstRatio >= 3 ? 'PASS' : 'MISS'}`);
  console.log(`no-op pass:  converge is ${ratio(cv2.ms, kc2.ms)} faster than kubectl apply again (target ≥ 10×) ${noopRatio >= 10 ? 'PASS' : 'MISS'}`);
  console.log(`no-op pass:  converge is ${ratio(cv2.ms, kd.ms)} faster than kubectl diff --server-side`);
  console.log(`no-op pass:  converge sent ${noopWrites} write requests (target 0) ${noopWrites === 0 ? 'PASS' : 'MISS'}`);
} finally {
  await env.stop();
  await rm(work, { recursive: true, force: true });
}
