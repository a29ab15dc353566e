import { join } from 'node:path';
import { helmChart } from '@converge/helm-render';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KustomizeEngine, KustomizeError, kustomizePostRenderer } from '../src/index.js';
import { FIXTURES, artifactOf, kustomizeBuild } from './helpers/fixtures.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';

const engine = new KustomizeEngine();
const bin = inject('kustomizeBin');
const helmBin = inject('helmBin');
const dirs: string[] = [];
afterAll(async () => {
  await engine.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const options = {
  images: [{ name: 'nginx', newTag: '1.27.1' }],
  patches: [
    { target: { kind: 'Deployment' }, patch: '- op: add\n  path: /spec/template/spec/priorityClassName\n  value: high\n' },
    { patch: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web-basic\n  annotations:\n    patched: "yes"\n' },
  ],
  labels: [{ pairs: { team: 'web' } }],
};

describe('helmChart({ postRender: kustomizePostRenderer() })', () => {
  it("applies patches, images and labels to the chart's output as helm template | kustomize build does", async () => {
    const artifact = await artifactOf(join(FIXTURES, 'corpus', 'helm'));
    const objects = await helmChart({ chart: 'charts/basic', releaseName: 'web', postRender: kustomizePostRenderer({ engine, ...options }) })({ artifact });

    // The same by hand with the binaries: helm template, then kustomize build over its output.
    const dir = await mkdtemp(join(tmpdir(), 'post-render-'));
    dirs.push(dir);
    const manifest = execFileSync(helmBin, ['template', 'web', join(FIXTURES, 'corpus', 'helm', 'charts', 'basic'), '--namespace', 'default', '--include-crds', '--skip-tests'], { encoding: 'utf8' });
    await writeFile(join(dir, 'helm-output.yaml'), manifest);
    await writeFile(join(dir, 'kustomization.yaml'), JSON.stringify({ resources: ['helm-output.yaml'], ...options }));
    const expected = await kustomizeBuild(bin, dir, ['--reorder', 'none']);
    const { parseAllDocuments } = await import('yaml');
    expect(objects.map((o) => JSON.parse(JSON.stringify(o)))).toEqual(parseAllDocuments(expected).map((d) => d.toJS()));

    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { priorityClassName: string; containers: Array<{ image: string }> } } } };
    expect(deployment.spec.template.spec.priorityClassName).toBe('high');
    expect(deployment.spec.template.spec.containers[0]!.image).toBe('nginx:1.27.1');
    expect(objects.every((o) => o.metadata.labels?.['team'] === 'web')).toBe(true);
    expect(objects.find((o) => o.kind === 'Service')!.metadata.annotations?.['patched']).toBe('yes');
  });

  it('a patch that matches nothing fails the render with a KustomizeError naming the chart', async () => {
    const artifact = await artifactOf(join(FIXTURES, 'corpus', 'helm'));
    const render = helmChart({
      chart: 'charts/basic',
      releaseName: 'web',
      postRender: kustomizePostRenderer({ engine, patches: [{ patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ghost\ndata: {a: b}\n' }] }),
    });
    const err = await render({ artifact }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KustomizeError);
    expect((err as KustomizeError).code).toBe('KUSTOMIZE_PATCH_NO_MATCH');
  });
});
