import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryFileTree, originOf, pluginName } from '@converge/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KustomizeEngine, kustomize, type KustomizeOptions } from '../src/index.js';
import { inflateHelmChart } from '../src/internal/helm-charts.js';
import { FIXTURES, artifactOf, filesOf, kustomizeBuild } from './helpers/fixtures.js';

const engine = new KustomizeEngine();
const bin = inject('kustomizeBin');
const helmBin = inject('helmBin');
const tmp: string[] = [];
afterAll(async () => {
  await engine.close();
  await Promise.all(tmp.map((d) => rm(d, { recursive: true, force: true })));
});

/** The binary's output, parsed the way the renderer parses the engine's. */
const documents = (yaml: string) => yaml.split(/^---$/m).map((d) => parse(d) as unknown);

/** A copy of corpus/ whose kustomization at `path` is edited by `edit`, for the binary. */
async function editedCopy(path: string, edit: (k: Record<string, unknown>) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kustomize-edit-'));
  tmp.push(dir);
  await cp(join(FIXTURES, 'corpus'), dir, { recursive: true });
  const file = join(dir, path, 'kustomization.yaml');
  const k = parse(await (await import('node:fs/promises')).readFile(file, 'utf8')) as Record<string, unknown>;
  edit(k);
  await writeFile(file, stringify(k));
  return join(dir, path);
}

describe('kustomize()', () => {
  it('renders an overlay into objects named after the renderer, each with its origin', async () => {
    const render = kustomize({ engine, path: 'app/overlays/production' });
    expect(pluginName(render, '')).toBe('kustomize');
    const objects = await render({ artifact: await artifactOf(join(FIXTURES, 'corpus')) });
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toContain('Deployment/production/prod-web');
    expect(originOf(objects[0]!)?.file).toBe('app/overlays/production/kustomization.yaml');
    const binary = await kustomizeBuild(bin, join(FIXTURES, 'corpus', 'app/overlays/production'));
    expect(objects.map((o) => JSON.parse(JSON.stringify(o)))).toEqual(documents(binary));
  });

  it("namespace, images, patches, components, labels and buildMetadata given in code act as if written in the root kustomization (Flux's spec fields)", async () => {
    const options: KustomizeOptions = {
      namespace: 'override-ns',
      images: [{ name: 'ghcr.io/acme/web', newTag: '9.9.9' }],
      patches: [{ target: { kind: 'Deployment' }, patch: '- op: replace\n  path: /spec/replicas\n  value: 7\n' }],
      components: ['../../components/ha'],
      labels: [{ pairs: { owner: 'team-web' } }],
      buildMetadata: ['managedByLabel', 'originAnnotations'],
    };
    const objects = await kustomize({ engine, path: 'app/overlays/staging', loadRestrictor: 'rootOnly', ...options })({ artifact: await artifactOf(join(FIXTURES, 'corpus')) });
    const dir = await editedCopy('app/overlays/staging', (k) => {
      k['namespace'] = options.namespace;
      k['images'] = [...((k['images'] as unknown[]) ?? []), ...options.images!];
      k['patches'] = [...((k['patches'] as unknown[]) ?? []), ...options.patches!];
      k['components'] = options.components;
      k['labels'] = options.labels;
      k['buildMetadata'] = options.buildMetadata;
    });
    const binary = documents(await kustomizeBuild(bin, dir));
    // Origin annotations name the same paths in both (the copy keeps the layout).
    expect(objects.map((o) => JSON.parse(JSON.stringify(o)))).toEqual(binary);
    const web = objects.find((o) => o.kind === 'Deployment')!;
    expect(web.metadata.namespace).toBe('override-ns');
    expect(web.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('kustomize-v5.8.1');
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(true);
  });

  it('a folder of YAML files without a kustomization renders as with a generated one listing them (as Flux does)', async () => {
    const files = {
      'plain/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
      'plain/sub/b.yml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\nstringData:\n  k: v\n',
      'plain/notes.yaml': 'just: data\n',
      'plain/base/kustomization.yaml': 'resources:\n- c.yaml\n',
      'plain/base/c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
    };
    const objects = await kustomize({ engine, path: 'plain' })({ artifact: await artifactOf(files) });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['ConfigMap/a', 'ConfigMap/c', 'Secret/b']);
  });

  it.each([
    { path: 'helm', loadNone: false },
    { path: 'helm-inherit/overlay', loadNone: true },
  ])("helmCharts with enableHelm ($path): rendered by helm-render's engine, byte for byte as kustomize build --enable-helm with a helm binary", async ({ path, loadNone }) => {
    const root = join(FIXTURES, 'corpus');
    const files = await filesOf(root);
    const tree = memoryFileTree(Object.fromEntries(files.map((f) => [f.name, f.data])));
    const limits = { maxMemoryBytes: 512 << 20, maxOutputBytes: 64 << 20, timeoutMs: 60_000 };
    const out = await engine.build({
      files,
      path,
      loadRestrictor: loadNone ? 'none' : 'rootOnly',
      generateKustomization: false,
      enableHelm: true,
      limits,
      helm: (payload) => inflateHelmChart(payload, tree, limits),
    });
    const args = ['--enable-helm', '--helm-command', helmBin, ...(loadNone ? ['--load-restrictor', 'LoadRestrictionsNone'] : [])];
    const binary = await kustomizeBuild(bin, join(root, path), args);
    expect(out.yaml).toBe(binary);
    expect(out.yaml).toContain('kind: Deployment');
  });

  it('helmCharts without enableHelm fail as kustomize build does without --enable-helm', async () => {
    const err = await kustomize({ engine, path: 'helm' })({ artifact: await artifactOf(join(FIXTURES, 'corpus')) }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('KUSTOMIZE_BUILD_FAILED');
    expect((err as Error).message).toMatch(/enable-helm/);
  });

  it('renders the same with the renderer as with the engine (enableHelm through the renderer)', async () => {
    const objects = await kustomize({ engine, path: 'helm', enableHelm: true, loadRestrictor: 'rootOnly' })({ artifact: await artifactOf(join(FIXTURES, 'corpus')) });
    const binary = await kustomizeBuild(bin, join(FIXTURES, 'corpus', 'helm'), ['--enable-helm', '--helm-command', helmBin]);
    expect(objects.map((o) => JSON.parse(JSON.stringify(o)))).toEqual(documents(binary));
  });
});
