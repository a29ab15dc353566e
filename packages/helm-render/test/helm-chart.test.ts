import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, ConvergeError, defaultNamespaceOf, originOf } from '@converge/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { HelmError, WasmEngine, helmChart } from '../src/index.js';
import { artifactOf, filesOf } from './helpers/artifact.js';
import { fixtures } from './helpers/charts.js';
import { rejection } from './helpers/rejection.js';
import { tgz } from './helpers/tar.js';

const helmBin = inject('helmBin');
const engine = new WasmEngine();
afterAll(() => engine.close());

/** An artifact holding the fixture charts under charts/ and bad/, and the values files under values/. */
async function fixtureArtifact(extra: Record<string, string | Uint8Array> = {}) {
  return artifactOf({
    ...(await filesOf(join(fixtures, 'charts'), 'charts/')),
    ...(await filesOf(join(fixtures, 'bad'), 'bad/')),
    ...(await filesOf(join(fixtures, 'values'), 'values/')),
    ...extra,
  });
}

describe('helmChart', () => {
  it('renders a chart folder of the artifact into objects in install order, each with its template as origin', async () => {
    const render = helmChart({ chart: 'charts/crds', releaseName: 'w', namespace: 'team', engine });
    const objects = await render({ artifact: await fixtureArtifact() });
    expect(objects.map((o) => o.kind)).toEqual([
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'ServiceAccount',
      'PersistentVolumeClaim',
      'Role',
      'RoleBinding',
      'CronJob',
      'Widget',
    ]);
    // The CRD file starts with a comment line, so its document starts on line 2.
    expect(originOf(objects[0]!)).toMatchObject({ file: 'crds/crds/gadgets.yaml', line: 2 });
    expect(originOf(objects.at(-1)!)).toMatchObject({ file: 'crds/templates/widget.yaml', line: 1 });
  });

  it('records the release namespace as the default of objects that name none, without writing it into them', async () => {
    const artifact = await fixtureArtifact();
    const objects = await helmChart({ chart: 'charts/basic', releaseName: 'web', namespace: 'team', engine })({ artifact });
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const service = objects.find((o) => o.kind === 'Service')!;
    // The template names no namespace: `helm install -n team` would put it in team. The
    // runtime applies the default once discovery says the kind is namespaced.
    expect(deployment.metadata).not.toHaveProperty('namespace');
    expect(defaultNamespaceOf(deployment)).toBe('team');
    expect(originOf(deployment)).toMatchObject({ file: 'basic/templates/deployment.yaml' });
    // The template names one (.Release.Namespace): nothing to default.
    expect(service.metadata.namespace).toBe('team');
    expect(defaultNamespaceOf(service)).toBeUndefined();

    // Without `namespace`, the release namespace is Helm's default, `default`; a
    // cluster-scoped kind gets the record too but never a namespace field.
    const crds = await helmChart({ chart: 'charts/crds', releaseName: 'w', engine })({ artifact });
    const namespace = crds.find((o) => o.kind === 'Namespace')!;
    expect(namespace.metadata).not.toHaveProperty('namespace');
    expect(defaultNamespaceOf(namespace)).toBe('default');
    expect(crds.every((o) => o.metadata.namespace === undefined)).toBe(true);
    expect(crds.every((o) => defaultNamespaceOf(o) === 'default')).toBe(true);
  });

  it('merges chart values, then valuesFiles in order, then values', async () => {
    const artifact = await fixtureArtifact({
      'env/a.yaml': 'replicaCount: 2\nimage: { repository: a, tag: "1" }\n',
      'env/b.yaml': 'replicaCount: 3\n',
    });
    const render = helmChart({
      chart: './charts/basic/',
      releaseName: 'web',
      valuesFiles: ['env/a.yaml', 'env/b.yaml'],
      values: { image: { tag: '9' } },
      engine,
    });
    const deployment = (await render({ artifact })).find((o) => o.kind === 'Deployment') as any;
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec.containers[0].image).toBe('a:9');
  });

  it('leaves test hooks out and keeps other hooks (after the rest, by weight then kind) by default; skipHooks drops them all', async () => {
    const artifact = await fixtureArtifact();
    const names = async (o: object) =>
      (await helmChart({ chart: 'charts/hooks', releaseName: 'h', engine, ...o })({ artifact })).map((x) => x.metadata.name);
    expect(await names({})).toEqual(['h-app', 'h-hook-sa', 'h-hook-config', 'h-migrate', 'h-notify']);
    expect(await names({ skipTests: false })).toContain('h-test-connection');
    expect(await names({ skipHooks: true })).toEqual(['h-app']);
  });

  it('gives the same objects with the cli engine', async () => {
    const artifact = await fixtureArtifact();
    const options = { chart: 'charts/umbrella', releaseName: 'u', kubeVersion: '1.31.0', valuesFiles: ['values/umbrella-prod.yaml'] };
    const fromWasm = await helmChart({ ...options, engine })({ artifact });
    const fromCli = await helmChart({ ...options, engine: 'cli', helmPath: helmBin })({ artifact });
    expect(fromCli).toEqual(fromWasm);
    expect(fromWasm.length).toBeGreaterThan(5);
  });

  it('renders a packaged chart (.tgz) from the artifact', async () => {
    const out = mkdtempSync(join(tmpdir(), 'helm-pkg-'));
    execFileSync(helmBin, ['package', join(fixtures, 'charts', 'umbrella'), '--destination', out], { env: { ...process.env, HELM_CONFIG_HOME: out } });
    const archive = new Uint8Array(readFileSync(join(out, 'umbrella-1.2.3.tgz')));
    const objects = await helmChart({ chart: 'pkgs/umbrella-1.2.3.tgz', releaseName: 'p', kubeVersion: '1.30.0', engine })({
      artifact: artifactOf({ 'pkgs/umbrella-1.2.3.tgz': archive }),
    });
    expect(objects.map((o) => o.metadata.name)).toContain('p-frontend');
  });

  it('reports a template error with the file and line Helm gives', async () => {
    const err = await rejection(helmChart({ chart: 'bad/required-missing', releaseName: 'r', engine })({ artifact: await fixtureArtifact() }));
    expect(err.code).toBe('HELM_TEMPLATE_ERROR');
    expect(err.data.position).toEqual({ file: 'required-missing/templates/cm.yaml', line: 6, column: 11 });
    expect(err.data['chart']).toBe('bad/required-missing');
  });

  it('reports a chart that is not in the artifact', async () => {
    const artifact = await fixtureArtifact();
    const err = await rejection(helmChart({ chart: 'charts/nope', releaseName: 'r', engine })({ artifact }));
    expect(err.code).toBe('HELM_CHART_NOT_FOUND');
    const noChartYaml = await rejection(helmChart({ chart: 'values', releaseName: 'r', engine })({ artifact }));
    expect(noChartYaml.code).toBe('HELM_CHART_NOT_FOUND');
    expect(noChartYaml.message).toMatch(/values\/Chart\.yaml not found/);
  });

  it('reports a values file that is not in the artifact', async () => {
    const render = helmChart({ chart: 'charts/basic', releaseName: 'r', valuesFiles: ['values/missing.yaml'], engine });
    const err = await rejection(render({ artifact: await fixtureArtifact() }));
    expect(err.code).toBe('HELM_VALUES_INVALID');
    expect(err.data.position).toEqual({ file: 'values/missing.yaml' });
  });

  it('reports rendered documents that are not Kubernetes objects', async () => {
    const err = await rejection(helmChart({ chart: 'bad/not-k8s', releaseName: 'r', engine })({ artifact: await fixtureArtifact() }));
    expect(err.code).toBe('HELM_MANIFEST_INVALID');
    expect(err.data.position).toMatchObject({ file: 'not-k8s/templates/cm.yaml', line: 1 });
    expect(err.cause).toBeInstanceOf(ConvergeError);
  });

  it('refuses a chart archive with ../ paths', async () => {
    const archive = tgz([
      { name: 'evil/Chart.yaml', data: 'apiVersion: v2\nname: evil\nversion: 0.1.0\n' },
      { name: 'evil/../../etc/cron.d/x', data: 'boom' },
    ]);
    const err = await rejection(helmChart({ chart: 'evil.tgz', releaseName: 'r', engine })({ artifact: artifactOf({ 'evil.tgz': archive }) }));
    expect(err.code).toBe('HELM_ARCHIVE_UNSAFE');
  });

  it('refuses a chart archive with links or absolute paths', async () => {
    const chartYaml = { name: 'evil/Chart.yaml', data: 'apiVersion: v2\nname: evil\nversion: 0.1.0\n' };
    for (const bad of [
      { name: 'evil/templates/link.yaml', type: 'symlink' as const, linkName: '/etc/passwd' },
      { name: '/etc/passwd', data: 'x' },
    ]) {
      const artifact = artifactOf({ 'evil.tgz': tgz([chartYaml, bad]) });
      const err = await rejection(helmChart({ chart: 'evil.tgz', releaseName: 'r', engine })({ artifact }));
      expect(err.code).toBe('HELM_ARCHIVE_UNSAFE');
    }
  });

  it('reads a chart archive packed on Windows (`\\` in its paths) as Helm does; refuses one that is not gzipped, or a link, in Helm words', async () => {
    const windows = tgz([
      { name: 'win\\Chart.yaml', data: 'apiVersion: v2\nname: win\nversion: 0.1.0\n' },
      { name: 'win\\templates\\cm.yaml', data: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: win }\n' },
    ]);
    const objects = await helmChart({ chart: 'win.tgz', releaseName: 'r', engine })({ artifact: artifactOf({ 'win.tgz': windows }) });
    expect(objects.map((o) => o.metadata.name)).toEqual(['win']);

    const plain = await rejection(helmChart({ chart: 'plain.tgz', releaseName: 'r', engine })({ artifact: artifactOf({ 'plain.tgz': new TextEncoder().encode('not a tar') }) }));
    expect(plain.code).toBe('HELM_CHART_INVALID');
    expect(plain.message).toContain('plain.tgz does not appear to be a valid chart file (details: no gzip header)');

    const link = tgz([
      { name: 'evil/Chart.yaml', data: 'apiVersion: v2\nname: evil\nversion: 0.1.0\n' },
      { name: 'evil/templates/inside.yaml', type: 'symlink', linkName: 'Chart.yaml' },
    ]);
    const refused = await rejection(helmChart({ chart: 'evil.tgz', releaseName: 'r', engine })({ artifact: artifactOf({ 'evil.tgz': link }) }));
    expect(refused.code).toBe('HELM_ARCHIVE_UNSAFE');
    expect(refused.message).toContain('evil.tgz: refusing link "evil/templates/inside.yaml" in a chart archive');
  });

  it('refuses to return more than maxOutputBytes, with either engine', async () => {
    const artifact = await fixtureArtifact();
    for (const e of [engine, 'cli' as const]) {
      const render = helmChart({
        chart: 'bad/huge-output',
        releaseName: 'r',
        values: { count: 50_000 },
        maxOutputBytes: 1024 * 1024,
        engine: e,
        helmPath: helmBin,
      });
      const err = await rejection(render({ artifact }));
      expect(err.code).toBe('ENGINE_OUTPUT_LIMIT');
      expect(err.message).toMatch(/^helm chart bad\/huge-output: .*maxOutputBytes allows \(1048576 bytes \(1 MiB\)\)/);
      expect(err.data).toMatchObject({ chart: 'bad/huge-output', limit: 'maxOutputBytes', limitValue: 1048576 });
    }
    // The engine still works.
    expect(await helmChart({ chart: 'charts/basic', releaseName: 'r', engine })({ artifact })).toHaveLength(2);
  });

  it('stops a render that runs past timeoutMs and restarts the engine', async () => {
    const artifact = await fixtureArtifact();
    const slow = helmChart({ chart: 'bad/runaway', releaseName: 'r', values: { mode: 'spin' }, timeoutMs: 1500, engine });
    const err = await rejection(slow({ artifact }));
    expect(err.code).toBe('ENGINE_TIMEOUT');
    expect(await helmChart({ chart: 'charts/basic', releaseName: 'r', engine })({ artifact })).toHaveLength(2);
  });

  it('stops a render when its signal aborts', async () => {
    const artifact = await fixtureArtifact();
    const controller = new AbortController();
    const slow = helmChart({ chart: 'bad/runaway', releaseName: 'r', values: { mode: 'spin' }, engine });
    const pending = slow({ artifact, signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    const err = await rejection(pending);
    expect(err).toBeInstanceOf(AbortedError);
    expect(await helmChart({ chart: 'charts/basic', releaseName: 'r', engine })({ artifact })).toHaveLength(2);
  });

  it('runs concurrent renders on one engine, each with its own values', async () => {
    const artifact = await fixtureArtifact();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        helmChart({ chart: 'charts/basic', releaseName: `r${i}`, values: { replicaCount: i + 1 }, engine })({ artifact }),
      ),
    );
    results.forEach((objects, i) => {
      const deployment = objects.find((o) => o.kind === 'Deployment') as any;
      expect(deployment.metadata.name).toBe(`r${i}-basic`);
      expect(deployment.spec.replicas).toBe(i + 1);
    });
  });

  it('answers lookup from a reader when given one (and returns empty results without)', async () => {
    const artifact = await fixtureArtifact();
    const queries: unknown[] = [];
    const lookup = async (q: { apiVersion: string; kind: string; namespace: string; name: string }) => {
      queries.push(q);
      if (q.kind === 'Secret' && q.name === 'preexisting') {
        return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'preexisting', namespace: q.namespace }, data: { password: 'c2VjcmV0' } };
      }
      if (q.kind === 'ConfigMap' && q.name === '') {
        return [1, 2].map((i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm${i}` } }));
      }
      return undefined;
    };
    const data = async (o: object) =>
      ((await helmChart({ chart: 'charts/features', releaseName: 'l', namespace: 'ns1', engine, ...o })({ artifact })).find(
        (x) => x.metadata.name === 'l-lookup',
      ) as any).data;
    // A list comes back as Helm's unstructured list object: apiVersion, kind, metadata, items.
    expect(await data({ lookup })).toEqual({ existingIsEmpty: 'false', listLength: '4', password: 'c2VjcmV0' });
    expect(queries).toEqual([
      { apiVersion: 'v1', kind: 'Secret', namespace: 'ns1', name: 'preexisting' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns1', name: '' },
    ]);
    expect(await data({})).toEqual({ existingIsEmpty: 'true', listLength: '0', password: 'Z2VuZXJhdGVk' });
    const failing = helmChart({ chart: 'charts/features', releaseName: 'l', engine, lookup: async () => Promise.reject(new Error('forbidden')) });
    const err = await rejection(failing({ artifact }));
    expect(err.code).toBe('HELM_TEMPLATE_ERROR');
    expect(err.message).toMatch(/forbidden/);
  });

  it('rejects inconsistent options at construction', () => {
    expect(() => helmChart({ chart: 'x', releaseName: 'r', engine: 'cli', lookup: async () => undefined })).toThrow(/lookup needs the wasm engine/);
    expect(() => helmChart({ chart: 'x', releaseName: '' })).toThrow(/releaseName is required/);
    expect(() => helmChart({ chart: 'x', releaseName: 'r', timeoutMs: 0 })).toThrow(HelmError);
    expect(() => helmChart({ chart: 'x', releaseName: 'r', maxMemoryBytes: 8 * 1024 ** 3 })).toThrow(/maxMemoryBytes must be .* to 4294967296 \(4 GiB\)/);
    expect(() => helmChart({ chart: 'x', releaseName: 'r', maxOutputBytes: 1.5 })).toThrow(/maxOutputBytes/);
  });
});
