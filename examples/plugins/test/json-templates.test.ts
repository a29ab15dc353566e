import { inspect } from 'node:util';
import { createReconciler, memoryFileTree, originOf, type Artifact } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { rejection } from './helpers/rejection.ts';
import { jsonTemplates } from '../src/json-templates.ts';

const DEPLOYMENT = JSON.stringify({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'shop' },
  spec: {
    replicas: { $param: 'replicas' },
    paused: { $param: 'paused', default: false },
    template: { spec: { containers: [{ name: 'api', image: { $param: 'image' } }] } },
  },
});
const CONFIGS = JSON.stringify([
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'shop' }, data: { mode: { $param: 'mode' } } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'shop' }, data: { mode: 'fixed' } },
]);
const PARAMS = JSON.stringify({ replicas: 2, image: 'registry.example.com/api:1.0.0', mode: 'safe' });

const artifactOf = (files: Record<string, string>): Artifact => ({ source: 'test', revision: 'r1', files: memoryFileTree(files) });

describe('jsonTemplates', () => {
  it('replaces $param values with typed parameters from params.json, overridden by options, with template defaults', async () => {
    const render = jsonTemplates({ path: 'deploy', params: { replicas: 5 } });
    const [deployment] = await render({ artifact: artifactOf({ 'deploy/params.json': PARAMS, 'deploy/api.json': DEPLOYMENT, 'other/x.json': '{' }) });
    expect(deployment?.['spec']).toEqual({
      replicas: 5, // a number, as the API server wants it, not "5"
      paused: false,
      template: { spec: { containers: [{ name: 'api', image: 'registry.example.com/api:1.0.0' }] } },
    });
  });

  it('reads one object or an array of objects per file, and records each file as the origin', async () => {
    const objects = await jsonTemplates()({ artifact: artifactOf({ 'params.json': PARAMS, 'api.json': DEPLOYMENT, 'configs.json': CONFIGS, 'README.md': '# no' }) });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Deployment/api', 'ConfigMap/a', 'ConfigMap/b']);
    expect(objects.map((o) => originOf(o)?.file)).toEqual(['api.json', 'configs.json', 'configs.json']);
    expect(objects[1]?.['data']).toEqual({ mode: 'safe' });
  });

  it('fails with PARAM_MISSING naming the file, the JSON pointer and the parameter', async () => {
    const error = await rejection(jsonTemplates()({ artifact: artifactOf({ 'configs.json': CONFIGS }) }));
    expect(error.code).toBe('PARAM_MISSING');
    expect(error.message).toBe(`configs.json: /0/data/mode needs parameter "mode", which is not set; add it to params.json or the renderer's params`);
    expect(error.data).toMatchObject({ position: { file: 'configs.json' }, param: 'mode', pointer: '/0/data/mode' });
  });

  it('names the file, line and column of invalid JSON without quoting the text, which may be a secret', async () => {
    const broken = '{\n  "apiVersion": "v1",\n  "kind": "Secret",\n  "stringData": { "password": "hunter2-hunter2" \n  "x": 1 }\n}\n';
    const error = await rejection(jsonTemplates()({ artifact: artifactOf({ 'secret.json': broken }) }));
    expect(error.code).toBe('TEMPLATE_SYNTAX');
    expect(error.message).toMatch(/^secret\.json:5:3: invalid JSON/);
    expect(error.data.position).toEqual({ file: 'secret.json', line: 5, column: 3 });
    expect(inspect(error, { depth: 10 })).not.toContain('hunter2');
  });

  it('refuses a file whose items are not objects, naming the file', async () => {
    const error = await rejection(jsonTemplates()({ artifact: artifactOf({ 'list.json': '[1]' }) }));
    expect(error).toMatchObject({ code: 'INVALID_OBJECT', data: { position: { file: 'list.json' } } });
    expect(error.message).toContain('list.json item 0: expected a Kubernetes object, got number');
  });

  it('stops when its signal is aborted', async () => {
    const reason = new DOMException('stop', 'AbortError');
    const render = jsonTemplates({ params: { replicas: 1, image: 'x' } });
    await expect(render({ artifact: artifactOf({ 'api.json': DEPLOYMENT }), signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('drives a reconciler, and a failed render is labelled with its stage and name and applies nothing', async () => {
    const source = memorySource({ 'params.json': PARAMS, 'configs.json': CONFIGS });
    const sink = new MemorySink();
    const r = createReconciler({ name: 'shop', source, render: jsonTemplates(), sink });
    expect((await r.reconcile()).counts.created).toBe(2);
    expect(sink.objects().map((o) => o['data'])).toEqual([{ mode: 'safe' }, { mode: 'fixed' }]);

    source.write('params.json', JSON.stringify({ replicas: 2 }));
    const writes = sink.writes;
    const failed = await r.reconcile();
    expect(failed.error).toMatchObject({ code: 'PARAM_MISSING', data: { stage: 'render', plugin: 'jsonTemplates' } });
    expect(sink.writes).toBe(writes);
  });
});
