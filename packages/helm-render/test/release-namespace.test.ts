import { join } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { createReconciler, pipe, type KubeObject, type Source } from '@converge/core';
import { kubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { describe, expect, it } from 'vitest';
import { helmChart } from '../src/index.js';
import { artifactOf, filesOf } from './helpers/artifact.js';
import { fixtures } from './helpers/charts.js';

describe('the release namespace on a real cluster', () => {
  it('a template that sets no namespace lands in the release namespace, as helm install -n does, is not drift, and is pruned when it leaves the chart', async () => {
    const kc = (await useTestEnv()).kubeConfig;
    const ns = `release-${Date.now().toString(36)}`;
    // The sink's own default namespace is another one: the chart's release namespace must win.
    const sink = kubeSink({ kubeConfig: kc, defaultNamespace: 'default', inventory: { namespace: ns } });
    await sink.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
    const files = await filesOf(join(fixtures, 'charts', 'basic'), 'chart/');
    let revision = 'r1';
    const source: Source = { id: 'chart', latestRevision: async () => revision, fetch: async () => ({ ...artifactOf(files), revision }) };
    let keepDeployment = true;
    const render = pipe(helmChart({ chart: 'chart', releaseName: 'web', namespace: ns }), (objects: KubeObject[]) => objects.filter((o) => keepDeployment || o.kind !== 'Deployment'));
    const r = createReconciler({ name: 'web', source, render, sink, prune: true });

    const first = await r.reconcile();
    expect(first.error?.message ?? 'succeeded').toBe('succeeded');
    const apps = kc.makeApiClient(AppsV1Api);
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items.map((d) => d.metadata?.name)).toEqual(['web-basic']);
    expect((await apps.listNamespacedDeployment({ namespace: 'default' })).items.map((d) => d.metadata?.name)).not.toContain('web-basic');
    expect((await sink.readInventory('web'))?.map((x) => `${x.kind} ${x.namespace}/${x.name}`).sort()).toEqual([`Deployment ${ns}/web-basic`, `Service ${ns}/web-basic`]);

    // Same revision: the object is where the plan expects it, so nothing to do.
    expect((await r.reconcile()).counts).toMatchObject({ created: 0, updated: 0, unchanged: 2 });

    keepDeployment = false;
    revision = 'r2';
    expect((await r.reconcile()).counts.deleted).toBe(1);
    expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toHaveLength(0);
    await sink.close();
  });
});
