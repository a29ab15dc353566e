// Benchmark: Kustomize's engine compiled to WebAssembly (warm, in its own process) vs `kustomize build`
// spawned per build, on a generated overlay of 240 resources (60 apps × Deployment, Service,
// ConfigMap, ServiceAccount) with a namespace, a name prefix, labels, an image override,
// replicas, a generated ConfigMap, a strategic merge patch on every Deployment and JSON 6902
// patches. Also cold start (compile + instantiate + first build), peak memory of both, and the
// same comparison on a small overlay (the test corpus's app/overlays/production, 7 resources,
// components and patches), the size most applications have.
//
//   npm run build -w @converge/kustomize   # dist/ and the wasm
//   node bench/kustomize.mjs [--builds 50]
//
// The kustomize binary comes from packages/kustomize/scripts/build-kustomize.sh (same Go
// module as the wasm; cached outside the clone), or $CONVERGE_KUSTOMIZE_BIN.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fmt, rssSampler, stats } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'packages', 'kustomize');
const builds = Number(process.argv[process.argv.indexOf('--builds') + 1]) || 50;
const run = promisify(execFile);

if (!existsSync(join(pkg, 'dist', 'index.js'))) {
  console.error('packages/kustomize/dist is missing: run `npm run build -w @converge/kustomize` first');
  process.exit(1);
}
execFileSync('bash', [join(pkg, 'scripts', 'build-wasm.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
const kustomizeBin =
  process.env.CONVERGE_KUSTOMIZE_BIN ??
  execFileSync('bash', [join(pkg, 'scripts', 'build-kustomize.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();

const { KustomizeEngine } = await import(join(pkg, 'dist', 'index.js'));

// ---------------------------------------------------------------- the overlay
const work = mkdtempSync(join(tmpdir(), 'kustomize-bench-'));
const write = (path, text) => {
  mkdirSync(dirname(join(work, path)), { recursive: true });
  writeFileSync(join(work, path), text);
};
const apps = Array.from({ length: 60 }, (_, i) => `app${String(i).padStart(2, '0')}`);
for (const app of apps) {
  write(
    `base/${app}.yaml`,
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${app}}
  template:
    metadata:
      labels: {app: ${app}}
    spec:
      serviceAccountName: ${app}
      containers:
      - name: main
        image: registry.example.com/shop/${app}:1.0.0
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: ${app}}}]
        resources: {requests: {cpu: 100m, memory: 128Mi}}
      - name: proxy
        image: envoyproxy/envoy:v1.30.0
---
apiVersion: v1
kind: Service
metadata:
  name: ${app}
spec:
  selector: {app: ${app}}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${app}
data:
${Array.from({ length: 10 }, (_, k) => `  KEY_${k}: value-${k}\n`).join('')}---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${app}
`,
  );
}
write('base/kustomization.yaml', `resources:\n${apps.map((a) => `- ${a}.yaml`).join('\n')}\n`);
write(
  'overlays/prod/kustomization.yaml',
  `namespace: shop-prod
namePrefix: prod-
labels:
- pairs: {env: prod, team: shop}
  includeSelectors: false
resources:
- ../../base
images:
- name: envoyproxy/envoy
  newTag: v1.31.2
replicas:
${apps.slice(0, 20).map((a) => `- name: ${a}\n  count: 3`).join('\n')}
configMapGenerator:
- name: shared
  literals: [REGION=eu-west-1, TIER=prod]
patches:
- target: {kind: Deployment}
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: main
            resources:
              limits: {memory: 512Mi}
- target: {kind: Service}
  patch: |-
    - op: add
      path: /metadata/annotations
      value: {prometheus.io/scrape: "true"}
${apps.slice(0, 10).map((a) => `- target: {kind: Deployment, name: ${a}}\n  patch: |-\n    - op: add\n      path: /spec/template/spec/priorityClassName\n      value: high`).join('\n')}
`,
);
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else files.push({ name: relative(work, p), data: new Uint8Array(readFileSync(p)) });
  }
};
walk(work);
const request = {
  files,
  path: 'overlays/prod',
  loadRestrictor: 'rootOnly',
  generateKustomization: false,
  enableHelm: false,
  limits: { maxMemoryBytes: 512 << 20, maxOutputBytes: 64 << 20, timeoutMs: 60_000 },
};

// ---------------------------------------------------------------- measure
const engine = new KustomizeEngine();
// The engine runs in a child process of its own: its RSS counts, sampled with this process's.
const rss = rssSampler(() => engine.stats().pid);
let t = performance.now();
const first = await engine.build(request);
const cold = performance.now() - t;

const wasmTimes = [];
for (let i = 0; i < builds; i++) {
  t = performance.now();
  const out = await engine.build(request);
  wasmTimes.push(performance.now() - t);
  if (out.yaml !== first.yaml) throw new Error('wasm output changed between builds');
}
rss.stop();

// The small overlay, on the same (warm) engine.
const corpus = join(pkg, 'test', 'fixtures', 'corpus');
const smallFiles = [];
for (const e of readdirSync(corpus, { recursive: true, withFileTypes: true })) {
  if (e.isFile()) smallFiles.push({ name: relative(corpus, join(e.parentPath, e.name)), data: new Uint8Array(readFileSync(join(e.parentPath, e.name))) });
}
const small = { ...request, files: smallFiles, path: 'app/overlays/production' };
const smallFirst = await engine.build(small);
const smallWasm = [];
for (let i = 0; i < builds; i++) {
  t = performance.now();
  await engine.build(small);
  smallWasm.push(performance.now() - t);
}
await engine.close();
const smallBin = [];
let smallBinOut = '';
for (let i = 0; i < builds; i++) {
  t = performance.now();
  smallBinOut = (await run(kustomizeBin, ['build', join(corpus, 'app/overlays/production')])).stdout;
  smallBin.push(performance.now() - t);
}

const binTimes = [];
let binOut = '';
for (let i = 0; i < builds; i++) {
  t = performance.now();
  binOut = (await run(kustomizeBin, ['build', join(work, 'overlays/prod')], { maxBuffer: 64 << 20 })).stdout;
  binTimes.push(performance.now() - t);
}
let binPeakKb;
if (existsSync('/usr/bin/time')) {
  const res = await run('/usr/bin/time', ['-f', '%M', kustomizeBin, 'build', join(work, 'overlays/prod')], { maxBuffer: 64 << 20 });
  binPeakKb = Number(res.stderr.trim().split('\n').pop());
}
if (process.env.KEEP_BENCH) console.log("kept", work); else rmSync(work, { recursive: true, force: true });

const w = stats(wasmTimes);
const b = stats(binTimes);
const documents = first.yaml.split('\n---\n').length;
console.log(`overlay: ${documents} resources (${apps.length} apps), ${(first.yaml.length / 1024).toFixed(0)} KiB of YAML`);
console.log(`output identical to kustomize build: ${first.yaml === binOut}`);
console.log(`wasm cold start (compile + instantiate + first build): ${fmt(cold)}`);
console.log(`wasm warm, ${builds} builds:          mean ${fmt(w.mean)}  p50 ${fmt(w.p50)}  p95 ${fmt(w.p95)}  min ${fmt(w.min)}`);
console.log(`kustomize build, ${builds} spawns:    mean ${fmt(b.mean)}  p50 ${fmt(b.p50)}  p95 ${fmt(b.p95)}  min ${fmt(b.min)}`);
console.log(`ratio (kustomize build mean / wasm warm mean): ${(b.mean / w.mean).toFixed(2)}x ${b.mean > w.mean ? '(wasm faster)' : '(binary faster)'}`);
const sw = stats(smallWasm);
const sb = stats(smallBin);
console.log(`small overlay (${smallFirst.yaml.split('\n---\n').length} resources), identical: ${smallFirst.yaml === smallBinOut}; wasm warm mean ${fmt(sw.mean)} p50 ${fmt(sw.p50)}; kustomize build mean ${fmt(sb.mean)} p50 ${fmt(sb.p50)}; ratio ${(sb.mean / sw.mean).toFixed(2)}x`);
console.log(`peak RSS: node + the wasm engine's process ${(rss.peak() / 1048576).toFixed(0)} MiB (process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB); kustomize build ${binPeakKb ? `${(binPeakKb / 1024).toFixed(0)} MiB` : 'n/a'}`);
