import { ConvergeError, createReconciler, memoryFileTree, originOf, pipe, yamlFiles, type KubeObject, type RenderContext } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { quantity, resourceDefaults } from '../src/resource-defaults.ts';

const API = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: shop }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: shop }
spec:
  template:
    spec:
      initContainers: [{ name: migrate, image: api:1 }]
      containers:
        - name: api
          image: api:1
          resources: { limits: { memory: 1Gi } }
`;
const CRON = `apiVersion: batch/v1
kind: CronJob
metadata: { name: report, namespace: shop }
spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { containers: [{ name: report, image: report:1 }] } } } } }
`;
const POLICY = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' }, max: { memory: '2Gi' } };

const ctx: RenderContext = { artifact: { source: 'test', revision: 'r1', files: memoryFileTree({}) } };
async function rendered(files: Record<string, string>): Promise<KubeObject[]> {
  return yamlFiles()({ artifact: { ...ctx.artifact, files: memoryFileTree(files) } });
}
const containersOf = (podSpec: unknown, list = 'containers') => (podSpec as Record<string, { resources?: unknown }[]>)[list]?.map((c) => c.resources);

describe('resourceDefaults', () => {
  it('fills missing requests and limits of every container and init container, keeping what is set', async () => {
    const [, deployment, cron] = await resourceDefaults(POLICY)(await rendered({ 'api.yaml': API, 'cron.yaml': CRON }), ctx);
    const podSpec = (deployment?.['spec'] as { template: { spec: unknown } }).template.spec;
    expect(containersOf(podSpec)).toEqual([{ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } }]);
    expect(containersOf(podSpec, 'initContainers')).toEqual([{ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } }]);
    const cronPod = (cron?.['spec'] as { jobTemplate: { spec: { template: { spec: unknown } } } }).jobTemplate.spec.template.spec;
    expect(containersOf(cronPod)).toEqual([{ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } }]);
  });

  it('copies objects instead of changing them, keeps their origin, and returns other kinds as they are', async () => {
    const input = await rendered({ 'api.yaml': API });
    const before = structuredClone(input);
    const output = await resourceDefaults(POLICY)(input, ctx);
    expect(input).toEqual(before);
    expect(output[0]).toBe(input[0]); // the ConfigMap: no pod spec, nothing to do
    expect(output[1]).not.toBe(input[1]);
    expect(originOf(output[1]!)).toEqual({ file: 'api.yaml', line: 5 });
  });

  it('refuses a limit above the maximum, naming the file and line, the container and the object', async () => {
    const greedy = API.replace('memory: 1Gi', 'memory: 8Gi');
    const objects = await rendered({ 'deploy/api.yaml': greedy });
    const error = await (async () => resourceDefaults(POLICY)(objects, ctx))().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvergeError);
    expect(error).toMatchObject({ code: 'RESOURCE_LIMIT_EXCEEDED', data: { container: 'api', resource: 'memory', position: { file: 'deploy/api.yaml', line: 5 } } });
    expect((error as Error).message).toBe(
      `deploy/api.yaml:5: container "api" of Deployment.apps shop/api sets a memory limit of 8Gi, above the platform's maximum of 2Gi; lower it or ask the platform team`,
    );
  });

  it('reads Kubernetes quantities, and refuses a maximum that is not one when it is made', () => {
    expect(quantity('500m', 'cpu')).toBe(0.5);
    expect(quantity('1.5', 'cpu')).toBe(1.5);
    expect(quantity('1Gi', 'memory')).toBeGreaterThan(quantity('1000Mi', 'memory'));
    expect(quantity('1G', 'memory')).toBeLessThan(quantity('1Gi', 'memory'));
    expect(() => resourceDefaults({ max: { memory: '2 GB' } })).toThrow(/max\.memory: "2 GB" is not a quantity/);
  });

  it('drives a reconciler: what is applied carries the defaults, and a violation fails the pass labelled with the transform, applying nothing', async () => {
    const source = memorySource({ 'deploy/api.yaml': API });
    const sink = new MemorySink();
    const r = createReconciler({ name: 'shop', source, render: pipe(yamlFiles(), resourceDefaults(POLICY)), sink });
    expect((await r.reconcile()).status).toBe('succeeded');
    const applied = sink.objects().find((o) => o.kind === 'Deployment');
    expect(containersOf((applied?.['spec'] as { template: { spec: unknown } }).template.spec)).toEqual([{ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } }]);

    source.write('deploy/api.yaml', API.replace('memory: 1Gi', 'memory: 8Gi'));
    const writes = sink.writes;
    const failed = await r.reconcile();
    expect(failed.error).toMatchObject({ code: 'RESOURCE_LIMIT_EXCEEDED', data: { stage: 'transform', plugin: 'resourceDefaults' } });
    expect(failed.error?.message).toMatch(/^deploy\/api\.yaml:5: /);
    expect(sink.writes).toBe(writes);
  });
});
