// Benchmark: Helm's engine compiled to WebAssembly (warm, in its own process) vs `helm template`
// spawned per render, on a generated mid-size chart (an umbrella with three subcharts and
// a library, 40+ templates). Also cold start (compile + instantiate + first render) and peak
// memory of both.
//
//   npm run build -w @converge/helm-render   # dist/ and the wasm
//   node bench/helm-render.mjs [--renders 50]
//
// The helm binary comes from packages/helm-render/scripts/build-helm.sh (same Go module as
// the wasm; cached outside the clone), or $CONVERGE_HELM_BIN.
import { execFileSync, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fmt, rssSampler, stats } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'packages', 'helm-render');
const renders = Number(process.argv[process.argv.indexOf('--renders') + 1]) || 50;
const run = promisify(execFile);

if (!existsSync(join(pkg, 'dist', 'index.js'))) {
  console.error('packages/helm-render/dist is missing: run `npm run build -w @converge/helm-render` first');
  process.exit(1);
}
execFileSync('bash', [join(pkg, 'scripts', 'build-wasm.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
const helmBin =
  process.env.CONVERGE_HELM_BIN ??
  execFileSync('bash', [join(pkg, 'scripts', 'build-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();

const { WasmEngine } = await import(join(pkg, 'dist', 'index.js'));

// ---------------------------------------------------------------- the chart
const work = mkdtempSync(join(tmpdir(), 'helm-bench-'));
const chartDir = join(work, 'shop');
const write = (path, text) => {
  mkdirSync(dirname(join(chartDir, path)), { recursive: true });
  writeFileSync(join(chartDir, path), text);
};
const services = ['api', 'worker', 'web'];
write(
  'Chart.yaml',
  `apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n${[...services, 'lib']
    .map((s) => `  - name: ${s}\n    version: 1.0.0\n`)
    .join('')}`,
);
write('values.yaml', `global:\n  registry: registry.example.com\n  env: prod\n${services.map((s) => `${s}:\n  replicas: 2\n`).join('')}`);
write('charts/lib/Chart.yaml', 'apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n');
write(
  'charts/lib/templates/_common.tpl',
  `{{- define "lib.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.Version | quote }}
env: {{ .Values.global.env }}
{{- end -}}
{{- define "lib.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
`,
);
const kinds = {
  'deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "lib.fullname" . }}
  labels: {{- include "lib.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector: { matchLabels: { app: {{ .Chart.Name }} } }
  template:
    metadata:
      labels: {{- include "lib.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    spec:
      serviceAccountName: {{ include "lib.fullname" . }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ .Values.global.registry }}/{{ .Chart.Name }}:{{ .Values.tag }}
          envFrom: [{ configMapRef: { name: {{ include "lib.fullname" . }} } }]
          resources: {{- toYaml .Values.resources | nindent 12 }}
`,
  'service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: {{ include "lib.fullname" . }}
  labels: {{- include "lib.labels" . | nindent 4 }}
spec: { selector: { app: {{ .Chart.Name }} }, ports: [{ port: 80, targetPort: 8080 }] }
`,
  'configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: {{ include "lib.fullname" . }} }
data:
{{- range $k, $v := .Values.config }}
  {{ $k }}: {{ $v | quote }}
{{- end }}
`,
  'secret.yaml': `apiVersion: v1
kind: Secret
metadata: { name: {{ include "lib.fullname" . }} }
stringData: { token: {{ .Values.token | default "t" | quote }} }
`,
  'serviceaccount.yaml': `apiVersion: v1
kind: ServiceAccount
metadata: { name: {{ include "lib.fullname" . }} }
`,
  'role.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: {{ include "lib.fullname" . }} }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get, list, watch] }]
`,
  'rolebinding.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: {{ include "lib.fullname" . }} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: {{ include "lib.fullname" . }} }
subjects: [{ kind: ServiceAccount, name: {{ include "lib.fullname" . }} }]
`,
  'hpa.yaml': `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: {{ include "lib.fullname" . }} }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: {{ include "lib.fullname" . }} }
  minReplicas: {{ .Values.replicas }}
  maxReplicas: {{ mul .Values.replicas 5 }}
`,
  'pdb.yaml': `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: {{ include "lib.fullname" . }} }
spec: { maxUnavailable: 1, selector: { matchLabels: { app: {{ .Chart.Name }} } } }
`,
  'ingress.yaml': `{{- if .Capabilities.APIVersions.Has "networking.k8s.io/v1/Ingress" }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: {{ include "lib.fullname" . }} }
spec:
  rules:
    - host: {{ .Chart.Name }}.{{ .Values.global.env }}.example.com
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: {{ include "lib.fullname" . }}, port: { number: 80 } } } }] }
{{- end }}
`,
  'networkpolicy.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: {{ include "lib.fullname" . }} }
spec: { podSelector: { matchLabels: { app: {{ .Chart.Name }} } }, ingress: [{}] }
`,
  'tests/test-connection.yaml': `apiVersion: v1
kind: Pod
metadata: { name: {{ include "lib.fullname" . }}-test, annotations: { "helm.sh/hook": test } }
spec: { restartPolicy: Never, containers: [{ name: t, image: busybox, command: [wget, {{ include "lib.fullname" . }}] }] }
`,
};
for (const s of services) {
  write(`charts/${s}/Chart.yaml`, `apiVersion: v2\nname: ${s}\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 1.0.0\n`);
  write(
    `charts/${s}/values.yaml`,
    `replicas: 1\ntag: "1.0"\nresources: { requests: { cpu: 100m, memory: 128Mi }, limits: { memory: 256Mi } }\nconfig:\n${Array.from({ length: 20 }, (_, i) => `  KEY_${i}: value-${i}\n`).join('')}`,
  );
  write(`charts/${s}/charts/lib/Chart.yaml`, 'apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n');
  write(`charts/${s}/charts/lib/templates/_common.tpl`, readFileSync(join(chartDir, 'charts/lib/templates/_common.tpl'), 'utf8'));
  for (const [name, text] of Object.entries(kinds)) write(`charts/${s}/templates/${name}`, text);
}
write('templates/namespace-config.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }}-shop }\ndata: { env: {{ .Values.global.env }} }\n`);
write('templates/NOTES.txt', 'shop installed\n');

const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else files.push({ name: relative(chartDir, p), data: new Uint8Array(readFileSync(p)) });
  }
};
walk(chartDir);
const templates = files.filter((f) => /(^|\/)templates\/[^_][^/]*$|templates\/tests\//.test(f.name) && !f.name.endsWith('NOTES.txt')).length;

const request = {
  files,
  values: [{ name: 'values.json', data: new TextEncoder().encode(JSON.stringify({ api: { replicas: 3 } })) }],
  releaseName: 'bench',
  namespace: 'shop',
  kubeVersion: '1.33.0',
  apiVersions: ['networking.k8s.io/v1/Ingress'],
  includeCRDs: true,
  skipTests: false,
  disableHooks: false,
  isUpgrade: false,
  skipSchemaValidation: false,
  maxMemoryBytes: 512 << 20,
  maxOutputBytes: 64 << 20,
  timeoutMs: 60_000,
};
const helmArgs = ['template', 'bench', chartDir, '--namespace', 'shop', '--kube-version', '1.33.0', '--api-versions', 'networking.k8s.io/v1/Ingress', '--include-crds', '--set', 'api.replicas=3'];
const helmEnv = { PATH: process.env.PATH, HOME: work, HELM_CONFIG_HOME: join(work, 'c'), HELM_CACHE_HOME: join(work, 'k'), HELM_DATA_HOME: join(work, 'd') };

// ---------------------------------------------------------------- measure
const engine = new WasmEngine();
// The engine runs in a child process of its own: its RSS counts, sampled with this process's.
const rss = rssSampler(() => engine.stats().pid);
let t = performance.now();
const first = await engine.render(request);
const cold = performance.now() - t;

const wasmTimes = [];
for (let i = 0; i < renders; i++) {
  t = performance.now();
  const out = await engine.render(request);
  wasmTimes.push(performance.now() - t);
  if (out.manifest !== first.manifest) throw new Error('wasm output changed between renders');
}
rss.stop();
await engine.close();

const helmTimes = [];
let helmOut = '';
for (let i = 0; i < renders; i++) {
  t = performance.now();
  helmOut = (await run(helmBin, helmArgs, { env: helmEnv, maxBuffer: 64 << 20 })).stdout;
  helmTimes.push(performance.now() - t);
}
let helmPeakKb;
if (existsSync('/usr/bin/time')) {
  const res = await run('/usr/bin/time', ['-f', '%M', helmBin, ...helmArgs], { env: helmEnv, maxBuffer: 64 << 20 });
  helmPeakKb = Number(res.stderr.trim().split('\n').pop());
}
rmSync(work, { recursive: true, force: true });

const w = stats(wasmTimes);
const h = stats(helmTimes);
console.log(`chart: ${templates} templates in 1 umbrella + 3 subcharts + library; ${first.manifest.split('\n---\n').length} documents, ${(first.manifest.length / 1024).toFixed(0)} KiB of YAML`);
console.log(`output identical to helm template: ${first.manifest === helmOut}`);
console.log(`wasm cold start (compile + instantiate + first render): ${fmt(cold)}`);
console.log(`wasm warm, ${renders} renders:      mean ${fmt(w.mean)}  p50 ${fmt(w.p50)}  p95 ${fmt(w.p95)}  min ${fmt(w.min)}`);
console.log(`helm template, ${renders} spawns:   mean ${fmt(h.mean)}  p50 ${fmt(h.p50)}  p95 ${fmt(h.p95)}  min ${fmt(h.min)}`);
console.log(`ratio (helm template mean / wasm warm mean): ${(h.mean / w.mean).toFixed(2)}x ${h.mean > w.mean ? '(wasm faster)' : '(helm faster)'}`);
console.log(`peak RSS: node + the wasm engine's process ${(rss.peak() / 1048576).toFixed(0)} MiB (process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB); helm template ${helmPeakKb ? `${(helmPeakKb / 1024).toFixed(0)} MiB` : 'n/a'}`);
