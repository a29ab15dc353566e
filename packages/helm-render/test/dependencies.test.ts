import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packTarGz } from '@converge/oci';
import { startRegistry, type TestRegistry } from '@converge/oci/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HelmChartOptions, type HelmEngine, HelmError, helmChart, WasmEngine } from '../src/index.js';
import { artifactOf, filesOf } from './helpers/artifact.js';
import { fixtures } from './helpers/charts.js';
import { rejection } from './helpers/rejection.js';
import { helm, helmAsync, startRepoServer, type RepoServer } from './helpers/servers.js';

// `helmChart` fills `charts/` as `helm dependency build` does; the conformance cases compare
// what the wasm engine then prints with `helm dependency build && helm template` run by the
// helm binary built from the same Go module, against the same Helm repository (a static
// index.yaml + packaged .tgz served from a temp dir) and OCI registry (docker-registry).

const helmBin = inject('helmBin');
const wasm = new WasmEngine();
const work = mkdtempSync(join(tmpdir(), 'helm-deps-'));
const repoDir = join(work, 'repo');
const umbrella = join(fixtures, 'charts', 'umbrella', 'charts');

let server: RepoServer;
let registry: TestRegistry;
/** `app` and `common` with the servers' URLs written in, as files of an artifact. */
let sources: Record<string, Uint8Array>;
/** The Chart.lock `helm dependency update` wrote while frontend 0.1.5 was the newest 0.1.x. */
let chartLock: Uint8Array;

const publish = (chart: string, version: string) => helm(helmBin, ['package', join(umbrella, chart), '--version', version, '--destination', repoDir], work);
const reindex = () => helm(helmBin, ['repo', 'index', repoDir], work);

beforeAll(async () => {
  for (const v of ['0.1.0', '0.1.5', '0.2.0']) publish('frontend', v);
  for (const v of ['0.2.0', '0.3.0', '1.0.0']) publish('backend', v);
  reindex();
  server = await startRepoServer(repoDir);
  registry = await startRegistry();
  for (const v of ['0.1.0', '0.1.3']) {
    const out = mkdtempSync(join(work, 'oci-'));
    helm(helmBin, ['package', join(umbrella, 'metrics'), '--version', v, '--destination', out], work);
    helm(helmBin, ['push', join(out, `metrics-${v}.tgz`), `oci://${registry.host}/charts`, '--plain-http'], work);
  }
  const src = join(work, 'src');
  cpSync(join(fixtures, 'dependencies'), src, { recursive: true });
  const chartYaml = join(src, 'app', 'Chart.yaml');
  writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replaceAll('OCI_REPO', `oci://${registry.host}/charts`).replaceAll('HTTP_REPO', server.url));
  sources = await filesOf(src);

  const locked = copyOf();
  await helmAsync(helmBin, ['dependency', 'update', join(locked, 'app'), '--plain-http'], work);
  chartLock = new Uint8Array(readFileSync(join(locked, 'app', 'Chart.lock')));
  // A newer patch, published after the lock was written: only renders without the lock see it.
  publish('frontend', '0.1.7');
  reindex();
}, 300_000);

afterAll(async () => {
  await wasm.close();
  await server?.close();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A fresh copy on disk of the sources, with files added or replaced. */
function copyOf(extra: Record<string, string | Uint8Array> = {}): string {
  const dir = mkdtempSync(join(work, 'chart-'));
  for (const [name, data] of Object.entries({ ...sources, ...extra })) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return dir;
}

/** `helm repo add && helm dependency build && helm template`, with helmChart's defaults. */
async function reference(o: { extra?: Record<string, string | Uint8Array>; values?: object } = {}): Promise<string> {
  const dir = copyOf(o.extra);
  const home = mkdtempSync(join(work, 'home-'));
  // `helm dependency build` with a Chart.lock insists the repository was added.
  await helmAsync(helmBin, ['repo', 'add', 'deps', server.url], home);
  await helmAsync(helmBin, ['dependency', 'build', join(dir, 'app'), '--plain-http'], home);
  const args = ['template', 'rel', join(dir, 'app'), '--namespace', 'apps', '--include-crds', '--skip-tests'];
  if (o.values) {
    writeFileSync(join(dir, 'values.json'), JSON.stringify(o.values));
    args.push('--values', join(dir, 'values.json'));
  }
  return helm(helmBin, args, home);
}

/** The wasm engine, remembering the manifest of its last render. */
function capturing(): { engine: HelmEngine; manifest(): string } {
  let manifest = '';
  return {
    engine: {
      render: async (request) => {
        const out = await wasm.render(request);
        manifest = out.manifest;
        return out;
      },
      close: async () => {},
    },
    manifest: () => manifest,
  };
}

function render(o: { extra?: Record<string, string | Uint8Array>; options?: Partial<HelmChartOptions>; engine?: HelmEngine } = {}) {
  return helmChart({
    chart: 'app',
    releaseName: 'rel',
    namespace: 'apps',
    engine: o.engine ?? wasm,
    repository: { plainHttp: true, cacheDir: mkdtempSync(join(work, 'cache-')) },
    ...o.options,
  })({ artifact: artifactOf({ ...sources, ...o.extra }) });
}

const chartYamlWith = (edit: (text: string) => string) => ({ 'app/Chart.yaml': edit(Buffer.from(sources['app/Chart.yaml']!).toString('utf8')) });
/** Chart.yaml with the repository of the `backend` dependency replaced. */
const backendFrom = (url: string) => chartYamlWith((t) => t.replace(/(- name: backend[\s\S]*?repository: )\S+/, `$1${url}`));
/** The images of the frontend Deployments (the chart and its `admin` alias both name theirs `rel-frontend`). */
const images = (objects: { kind: string }[]) =>
  objects
    .filter((o) => o.kind === 'Deployment')
    .map((o: any) => o.spec.template.spec.containers[0].image as string)
    .sort();
const byName = (objects: { metadata: { name: string } }[], name: string) => objects.find((o) => o.metadata.name === name) as any;

describe('unvendored dependencies render like `helm dependency build && helm template`', () => {
  it('without Chart.lock: the newest version matching each constraint, from the repository, the registry and file://', async () => {
    const wasmOut = capturing();
    const objects = await render({ engine: wasmOut.engine });
    expect(wasmOut.manifest()).toBe(await reference());

    expect(images(objects)).toEqual(['registry.example.com/web:0.1.7', 'registry.example.com/web:0.2.0']);
    expect(byName(objects, 'rel-app').data).toEqual({ importedPort: '8080', subcharts: 'admin,api,common,frontend' });
    expect((objects.find((o) => o.kind === 'StatefulSet') as any).spec.replicas).toBe(3);
    // file://../common was packaged with its .helmignore applied (*.skip left out).
    expect(byName(objects, 'rel-common-files').data).toEqual({ 'kept.txt': 'kept\n' });
    expect(objects.map((o) => o.metadata.name)).not.toContain('rel-metrics-fallback');
  });

  it('condition, tags, alias and import-values are decided by Helm from the values', async () => {
    const values = { frontend: { enabled: false }, tags: { admin: false, monitoring: true }, api: { replicas: 5 } };
    const wasmOut = capturing();
    const objects = await render({ engine: wasmOut.engine, options: { values } });
    expect(wasmOut.manifest()).toBe(await reference({ values }));

    expect(byName(objects, 'rel-app').data).toEqual({ importedPort: '8080', subcharts: 'api,common,metrics' });
    expect((objects.find((o) => o.kind === 'StatefulSet') as any).spec.replicas).toBe(5);
    expect(byName(objects, 'rel-metrics-fallback').kind).toBe('ConfigMap');
    expect(images(objects)).toEqual([]);
  });

  it('with Chart.lock: exactly the locked versions, though the repository has a newer match', async () => {
    const extra = { 'app/Chart.lock': chartLock };
    expect(Buffer.from(chartLock).toString('utf8')).toContain('version: 0.1.5');
    const wasmOut = capturing();
    const objects = await render({ engine: wasmOut.engine, extra });
    expect(wasmOut.manifest()).toBe(await reference({ extra }));
    expect(images(objects)).toEqual(['registry.example.com/web:0.1.5', 'registry.example.com/web:0.2.0']);
  });

  it('a Chart.lock out of sync with Chart.yaml is refused, as helm dependency build refuses it', async () => {
    const extra = { 'app/Chart.lock': chartLock, ...chartYamlWith((t) => t.replace('version: "~0.1.0"', 'version: "~0.2.0"')) };
    const err = await rejection(render({ extra }));
    expect(err.code).toBe('HELM_DEPENDENCY_LOCK_OUTDATED');
    expect(err.message).toMatch(/Chart\.lock.*out of sync.*helm dependency update/);
    await expect(reference({ extra })).rejects.toThrow(/out of sync/);
  });

  it('the engine output is the same through the cli engine', async () => {
    const [viaWasm, viaCli] = await Promise.all([render(), render({ options: { engine: 'cli', helmPath: helmBin } })]);
    expect(viaCli).toEqual(viaWasm);
  });
});

describe('dependencies that cannot be resolved', () => {
  it('a repository that does not answer: HELM_DEPENDENCY_UNRESOLVED naming the dependency, constraint and URL, never credentials', async () => {
    const down = 'http://ci:s3cret@127.0.0.1:1/charts';
    const err = await rejection(render({ extra: backendFrom(down) }));
    expect(err).toBeInstanceOf(HelmError);
    expect(err.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(err.data).toMatchObject({ chart: 'app', dependency: 'backend', version: '>=0.2.0, <1.0.0', repository: 'http://127.0.0.1:1/charts' });
    expect(err.message).toMatch(/dependency backend \(alias api\) version ">=0\.2\.0, <1\.0\.0" from http:\/\/127\.0\.0\.1:1\/charts cannot be resolved/);
    expect(err.retryable).toBe(true);
    expect(JSON.stringify({ message: err.message, data: err.data })).not.toMatch(/s3cret/);
  });

  it('a repository URL with no index.yaml', async () => {
    const err = await rejection(render({ extra: backendFrom(`${server.url}/nowhere`) }));
    expect(err.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(err.data['repository']).toBe(`${server.url}/nowhere`);
    expect(err.retryable).toBe(false);
  });

  it('a version that does not exist, in the repository and in the registry', async () => {
    const http = await rejection(render({ extra: chartYamlWith((t) => t.replace('version: "~0.1.0"', 'version: "9.9.9"')) }));
    expect(http.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(http.data).toMatchObject({ dependency: 'frontend', version: '9.9.9', repository: server.url });
    expect(http.data['available']).toEqual(expect.arrayContaining(['0.1.0', '0.1.7', '0.2.0']));

    const oci = await rejection(render({ extra: chartYamlWith((t) => t.replace('version: ^0.1', 'version: ^5')) }));
    expect(oci.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(oci.data).toMatchObject({ dependency: 'metrics', version: '^5', repository: `oci://${registry.host}/charts` });
  });

  it('a chart that the repository does not have, a missing file:// folder, a repository name', async () => {
    const unknown = await rejection(render({ extra: chartYamlWith((t) => t.replace('  - name: backend', '  - name: nothing')) }));
    expect(unknown.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(unknown.data['dependency']).toBe('nothing');

    const folder = await rejection(render({ extra: chartYamlWith((t) => t.replace('file://../common', 'file://../absent')) }));
    expect(folder.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(folder.data).toMatchObject({ dependency: 'common', repository: 'file://../absent' });

    const outside = await rejection(render({ extra: chartYamlWith((t) => t.replace('file://../common', 'file://../../etc')) }));
    expect(outside.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(outside.message).toMatch(/outside the artifact/);

    const named = await rejection(render({ extra: backendFrom('"@stable"') }));
    expect(named.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
    expect(named.message).toMatch(/helm repo add.*write its URL/);
  });
  it('a dependency with no repository must be vendored: HELM_DEPENDENCY_MISSING, as helm template reports it', async () => {
    const err = await rejection(render({ extra: chartYamlWith((t) => t.replace(/(- name: backend[\s\S]*?)\n\s*repository: \S+/, '$1')) }));
    expect(err.code, err.message).toBe('HELM_DEPENDENCY_MISSING');
    expect(err.message).toMatch(/missing in charts\/ directory: backend/);
  });
});

describe('a chart from a repository with unvendored dependencies', () => {
  it('fetches them too, file:// paths pointing inside the chart', async () => {
    // app with common inside it (file://libs/common), packaged and published.
    const common = Object.fromEntries(Object.entries(sources).filter(([k]) => k.startsWith('common/')).map(([k, v]) => [`app/libs/${k}`, v]));
    const inside = { ...common, ...chartYamlWith((t) => t.replace('file://../common', 'file://libs/common')) };
    // `helm package` refuses a chart whose dependencies are not in charts/; such archives exist
    // (packed by other tools), so this one is packed by hand and indexed by helm.
    const packed = { ...Object.fromEntries(Object.entries(sources).filter(([k]) => k.startsWith('app/'))), ...inside };
    const files = new Map(Object.entries(packed).map(([name, data]) => [name, typeof data === 'string' ? new TextEncoder().encode(data) : data]));
    writeFileSync(join(repoDir, 'app-0.3.0.tgz'), await packTarGz(files));
    reindex();
    const fromRepository = await helmChart({ chart: `${server.url}/app`, releaseName: 'rel', namespace: 'apps', engine: wasm, repository: { plainHttp: true, cacheDir: mkdtempSync(join(work, 'cache-')) } })({
      artifact: artifactOf({}),
    });
    expect(fromRepository).toEqual(await render({ extra: inside }));
    expect(byName(fromRepository, 'rel-common-files').data).toEqual({ 'kept.txt': 'kept\n' });
  });
});

describe('vendored charts/, cache and credentials', () => {
  it('charts/ wins: a vendored dependency is used as is, with no request for it', async () => {
    // frontend 0.1.0 vendored as a folder, its repository unreachable: charts/ holds a chart
    // named frontend, so neither frontend nor its alias admin is fetched, and Helm renders what
    // charts/ holds, as `helm template` does (admin wants 0.2.0, so Helm leaves it out).
    const vendored = await filesOf(join(umbrella, 'frontend'), 'app/charts/frontend/');
    const unreachable = chartYamlWith((t) => t.replaceAll(server.url, 'http://127.0.0.1:1/charts').replace(/(- name: backend[\s\S]*?repository: )\S+/, `$1${server.url}`));
    const extra = { ...vendored, ...unreachable };
    server.requests.length = 0;
    const objects = await render({ extra });
    expect(images(objects)).toEqual(['registry.example.com/web:0.1.0']);
    expect(server.requests.filter((r) => r.includes('frontend'))).toEqual([]);
    expect(server.requests).toContain('/backend-0.3.0.tgz');
  });

  it('downloads are cached by digest: a second render reads the index only', async () => {
    const cacheDir = mkdtempSync(join(work, 'cache-'));
    const options = { repository: { plainHttp: true, cacheDir } };
    await render({ options });
    expect(readdirSync(join(cacheDir, 'sha256')).filter((f) => f.endsWith('.tgz'))).toHaveLength(4); // frontend ×2, backend, metrics
    server.requests.length = 0;
    await render({ options });
    expect(server.requests).toEqual(['/index.yaml']);
  });

  it('sends the credentials given for a dependency repository, and only those', async () => {
    const guarded = await startRepoServer(repoDir, { username: 'ci', password: 'p4ss' });
    try {
      const extra = chartYamlWith((t) => t.replaceAll(server.url, guarded.url));
      const denied = await rejection(render({ extra, options: { repository: { plainHttp: true, cacheDir: mkdtempSync(join(work, 'cache-')), username: 'ci', password: 'p4ss' } } }));
      expect(denied.code).toBe('HELM_DEPENDENCY_UNRESOLVED');
      expect(denied.message).toMatch(/401/);
      const objects = await render({ extra, options: { dependencyRepositories: { [`${guarded.url}/`]: { username: 'ci', password: 'p4ss' } } } });
      expect(byName(objects, 'rel-app').data.subcharts).toBe('admin,api,common,frontend');
    } finally {
      await guarded.close();
    }
  });
});
