import { describe, expect, it } from 'vitest';
import { helmChart, type HelmPostRenderContext } from '../src/index.js';
import { artifactOf, filesOf } from './helpers/artifact.js';
import { fixtures } from './helpers/charts.js';

const artifact = async () => artifactOf(await filesOf(fixtures));

describe('helmChart({ postRender })', () => {
  it('runs each post-renderer in order on the rendered manifests before they are parsed', async () => {
    const seen: HelmPostRenderContext[] = [];
    const render = helmChart({
      chart: 'charts/basic',
      releaseName: 'web',
      namespace: 'apps',
      postRender: [
        async (manifest, context) => {
          seen.push(context);
          return manifest.replaceAll('name: web-basic', 'name: renamed');
        },
        async (manifest) => `${manifest}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added\n`,
      ],
    });
    const objects = await render({ artifact: await artifact() });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining(['Deployment/renamed', 'Service/renamed', 'ConfigMap/added']));
    expect(seen).toEqual([expect.objectContaining({ chart: 'charts/basic', releaseName: 'web', namespace: 'apps' })]);
  });

  it('a failing post-renderer fails the render, naming the chart', async () => {
    const render = helmChart({ chart: 'charts/basic', releaseName: 'web', postRender: async () => Promise.reject(new Error('patch failed')) });
    await expect(render({ artifact: await artifact() })).rejects.toThrow(/charts\/basic.*patch failed|patch failed/);
  });
});
