import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import type { KubeObject } from '../../src/object.js';
import { parseManifests } from '../../src/parse-manifests.js';
import { createReconciler } from '../../src/reconciler.js';
import { named, pipe, type Renderer } from '../../src/renderer.js';
import type { Source } from '../../src/source.js';
import { MemorySink } from '../../src/testing/memory-sink.js';

const source: Source = { id: 'git@example/repo', latestRevision: async () => 'r1', fetch: async () => ({ source: 's', revision: 'r1', files: memoryFileTree({}) }) };
const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'x' } };

async function failure(o: { source?: Source; render?: Renderer; gate?: () => Promise<never> }) {
  const r = createReconciler({
    name: 'app',
    source: o.source ?? source,
    render: o.render ?? (async () => [cm]),
    sink: new MemorySink(),
    ...(o.gate && { gates: [{ name: 'my-gate', check: o.gate }] }),
  });
  const result = await r.reconcile();
  if (result.status !== 'failed') throw new Error('expected a failed pass');
  return result.error!;
}

describe('failures are labelled by stage and plugin', () => {
  it('a source that throws is SOURCE_FAILED naming the source, with the original as cause', async () => {
    const boom = new TypeError('socket hang up');
    const error = await failure({ source: { ...source, latestRevision: async () => Promise.reject(boom) } });
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toBe('source git@example/repo failed: socket hang up');
    expect(error.data).toMatchObject({ stage: 'source', plugin: 'git@example/repo' });
    expect(error.cause).toBe(boom);
  });

  it('a renderer that throws is RENDER_FAILED naming it; a transform that throws is TRANSFORM_FAILED naming it', async () => {
    const render = named('my-chart', async () => Promise.reject(new Error('template: nil pointer')));
    expect(await failure({ render })).toMatchObject({ code: 'RENDER_FAILED', message: 'render my-chart failed: template: nil pointer' });

    const breaks = named('add-team', (): KubeObject[] => {
      throw new RangeError('bad team');
    });
    const error = await failure({ render: pipe(async () => [cm], breaks) });
    expect(error).toMatchObject({ code: 'TRANSFORM_FAILED', message: 'transform add-team failed: bad team', data: { stage: 'transform', plugin: 'add-team' } });
  });

  it('a gate that throws (rather than blocking) is GATE_FAILED naming it', async () => {
    const error = await failure({ gate: () => Promise.reject(new Error('registry down')) });
    expect(error).toMatchObject({ code: 'GATE_FAILED', message: 'gate my-gate failed: registry down' });
  });

  it('a renderer returning an object without metadata is INVALID_OBJECT naming the renderer, not a TypeError', async () => {
    const render = named('hand-made', async () => [{ apiVersion: 'v1', kind: 'ConfigMap' } as unknown as KubeObject]);
    const error = await failure({ render });
    expect(error.code).toBe('INVALID_OBJECT');
    expect(error.message).toContain('renderer hand-made');
    expect(error.message).toContain('no metadata');
  });

  it('a typed error from a plugin keeps its code and gains the stage', async () => {
    const render = named('yaml', async () => parseManifests('a: [', 'bad.yaml'));
    const error = await failure({ render });
    expect(error.code).toBe('YAML_SYNTAX');
    expect(error.data).toMatchObject({ stage: 'render', plugin: 'yaml' });
  });
});

describe('YAML errors do not quote Secret values', () => {
  it('a syntax error on the value line of a Secret keeps no byte of the value, in the message or the cause', async () => {
    const value = 'c3VwZXItc2VjcmV0LXZhbHVl';
    const text = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: ${value}: broken\n`;
    const render = named('yaml', async () => parseManifests(text, 'secret.yaml'));
    const error = await failure({ render });
    expect(error.code).toBe('YAML_SYNTAX');
    const printed = inspect(error, { depth: null });
    expect(printed).not.toContain(value);
    expect(printed).not.toContain(Buffer.from(value, 'base64').toString());
  });
});
