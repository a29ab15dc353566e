import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmChart } from '../src/index.js';
import { artifactOf, filesOf } from './helpers/artifact.js';

const charts = join(import.meta.dirname, 'fixtures', 'charts');

describe('smoke', () => {
  it('renders a basic chart with the wasm engine', async () => {
    const artifact = artifactOf(await filesOf(join(charts, 'basic'), 'charts/basic/'));
    const render = helmChart({ chart: 'charts/basic', releaseName: 'web', namespace: 'apps', values: { image: { tag: '2.0' } } });
    const objects = await render({ artifact });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Service/web-basic', 'Deployment/web-basic']);
  });
});
