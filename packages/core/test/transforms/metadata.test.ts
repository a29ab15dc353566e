import { describe, expect, it } from 'vitest';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import type { KubeObject } from '../../src/object.js';
import { originOf, setOrigin } from '../../src/origin.js';
import { addAnnotations, addLabels } from '../../src/transforms/metadata.js';

const ctx = { artifact: { source: 'test', revision: '1', files: memoryFileTree({}) } };
const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', labels: { app: 'api', team: 'old' } },
  spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } } } },
});

describe('addLabels', () => {
  it('adds labels to metadata, replacing existing keys, and leaves selectors and pod templates alone', async () => {
    const [out] = await addLabels({ team: 'web', tier: 'backend' })([deployment()], ctx);
    expect(out!.metadata.labels).toEqual({ app: 'api', team: 'web', tier: 'backend' });
    expect(out!.spec).toEqual(deployment().spec);
  });

  it('creates the labels map when an object has none', async () => {
    const [out] = await addLabels({ team: 'web' })([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }], ctx);
    expect(out!.metadata.labels).toEqual({ team: 'web' });
  });

  it('returns copies that keep their origin, leaving the input unchanged', async () => {
    const input = setOrigin(deployment(), { file: 'd.yaml', line: 2 });
    const [out] = await addLabels({ team: 'web' })([input], ctx);
    expect(input.metadata.labels).toEqual({ app: 'api', team: 'old' });
    expect(originOf(out!)).toEqual({ file: 'd.yaml', line: 2 });
  });
});

describe('addAnnotations', () => {
  it('adds annotations to metadata, replacing existing keys, without touching labels', async () => {
    const input: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { a: '1', b: '1' } } };
    const [out] = await addAnnotations({ b: '2', 'example.com/commit': 'abc' })([input], ctx);
    expect(out!.metadata.annotations).toEqual({ a: '1', b: '2', 'example.com/commit': 'abc' });
    expect(out!.metadata.labels).toBeUndefined();
    expect(input.metadata.annotations).toEqual({ a: '1', b: '1' });
  });
});
