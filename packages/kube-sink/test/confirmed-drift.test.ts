import { AppsV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { createReconciler } from '@converge/core';
import type { KubeObject, ReconcileEvent } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { desiredState, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;
beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});

/** A Deployment whose manifest the server stores differently: `cpu: 0.5` becomes `500m`, `memory: 1073741824` becomes `1Gi`. */
function deployment(ns: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'registry.example/api:1', resources: { requests: { cpu: 0.5, memory: 1073741824 } } }] },
      },
    },
  };
}

describe('confirmed drift', () => {
  it('a difference only in how the server spells a value is confirmed as no change once, then costs nothing; a real edit is still reverted', async () => {
    const ns = uniqueName('drift');
    const { sink, requests } = recordingSink(kc, { inventory: { namespace: ns } });
    const state = desiredState([namespace(ns), deployment(ns)]);
    const events: ReconcileEvent[] = [];
    const r = createReconciler({ name: 'drift', source: state.source, render: state.render, sink, prune: true });
    r.on('*', (e) => events.push(e));
    expect((await r.reconcile()).counts.created).toBe(2);
    const writes = () => requests.filter((q) => q.write && !q.dryRun).length;
    const dryRuns = () => requests.filter((q) => q.dryRun).length;

    // Same revision: the local comparison sees 0.5 vs "500m"; the server says it is the same.
    const before = { writes: writes(), dryRuns: dryRuns() };
    const second = await r.reconcile();
    expect(second.counts).toMatchObject({ updated: 0, unchanged: 2 });
    expect(writes()).toBe(before.writes);
    expect(dryRuns()).toBe(before.dryRuns + 1);
    expect(events.filter((e) => e.type === 'drift.detected')).toHaveLength(0);

    // Steady state: no writes and no dry runs.
    const third = await r.reconcile();
    expect(third.counts).toMatchObject({ updated: 0, unchanged: 2 });
    expect(writes()).toBe(before.writes);
    expect(dryRuns()).toBe(before.dryRuns + 1);

    // A real edit by someone else is confirmed and reverted.
    const apps = kc.makeApiClient(AppsV1Api);
    const live = await apps.readNamespacedDeployment({ name: 'api', namespace: ns });
    live.spec!.replicas = 5;
    await apps.replaceNamespacedDeployment({ name: 'api', namespace: ns, body: live });
    const fourth = await r.reconcile();
    expect(fourth.counts.updated).toBe(1);
    expect(fourth.driftCorrected).toBe(1);
    expect((await apps.readNamespacedDeployment({ name: 'api', namespace: ns })).spec?.replicas).toBe(1);
    await sink.close();
  });
});
