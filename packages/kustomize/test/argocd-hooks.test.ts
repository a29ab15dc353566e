import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, BatchV1Api } from '@kubernetes/client-node';
import { createReconciler, memoryFileTree } from '@converge/core';
import type { ReconcileEvent, Source } from '@converge/core';
import { kubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { kustomize } from '../src/index.js';

const root = fileURLToPath(new URL('./fixtures/argocd-example-apps/', import.meta.url));

/** The fixture folder as a source (one revision). */
function fixtureSource(): Source {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return { id: 'argocd-example-apps', latestRevision: async () => 'r1', fetch: async () => ({ source: 'argocd-example-apps', revision: 'r1', files: memoryFileTree(files) }) };
}

let stopControllers = (): void => undefined;
afterAll(() => stopControllers());

describe("Argo CD's pre-post-sync example (a Kustomize overlay with hooks)", () => {
  it('runs the PreSync Job, applies the guestbook, waits for it, runs the PostSync Job, and deletes both hooks (HookSucceeded)', async () => {
    const env = await useTestEnv();
    const kc = env.kubeConfig;
    const ns = `pre-post-${Date.now().toString(36)}`;
    const sink = kubeSink({ kubeConfig: kc, defaultNamespace: ns, inventory: { namespace: ns } });
    await sink.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);

    // No controller-manager on the test control plane: complete Jobs and roll out Deployments through their status.
    const batch = kc.makeApiClient(BatchV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    let running = true;
    stopControllers = () => (running = false);
    void (async () => {
      while (running) {
        for (const job of (await batch.listNamespacedJob({ namespace: ns })).items) {
          if (job.status?.conditions?.length) continue;
          const now = new Date();
          job.status = { startTime: now, completionTime: now, succeeded: 1, conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now, lastProbeTime: now },
            { type: 'Complete', status: 'True', lastTransitionTime: now, lastProbeTime: now },
          ] };
          await batch.replaceNamespacedJobStatus({ name: job.metadata!.name!, namespace: ns, body: job });
        }
        for (const d of (await apps.listNamespacedDeployment({ namespace: ns })).items) {
          if (d.status?.availableReplicas) continue;
          const n = d.spec?.replicas ?? 1;
          d.status = { observedGeneration: d.metadata?.generation ?? 1, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n, conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastUpdateTime: new Date(), lastTransitionTime: new Date() },
            { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: new Date(), lastTransitionTime: new Date() },
          ] };
          await apps.replaceNamespacedDeploymentStatus({ name: d.metadata!.name!, namespace: ns, body: d });
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })().catch(() => undefined);

    const events: ReconcileEvent[] = [];
    const r = createReconciler({ name: 'pre-post-sync', source: fixtureSource(), render: kustomize({ path: 'pre-post-sync' }), sink, prune: true, wait: { timeoutMs: 30_000, pollIntervalMs: 50 } });
    r.on('*', (e) => events.push(e));
    const result = await r.reconcile();
    expect(result.error?.message ?? 'succeeded').toBe('succeeded');

    const steps = events.flatMap((e) => {
      if (e.type === 'hook.applied') return [`${e.phase} ${e.ref.name}`];
      if (e.type === 'hook.completed') return [`${e.phase} ${e.ref.name} ${e.result}`];
      if (e.type === 'object.applied') return [`apply ${e.ref.kind}`];
      return [];
    });
    expect(steps.slice(0, 2)).toEqual(['PreSync pre-post-sync-before', 'PreSync pre-post-sync-before succeeded']);
    expect(steps.slice(2, 4).sort()).toEqual(['apply Deployment', 'apply Service']);
    expect(steps.slice(4)).toEqual(['PostSync pre-post-sync-after', 'PostSync pre-post-sync-after succeeded']);
    // HookSucceeded: both Jobs are gone; the guestbook stays, recorded for pruning.
    expect((await batch.listNamespacedJob({ namespace: ns })).items).toHaveLength(0);
    expect((await sink.readInventory('pre-post-sync'))?.map((x) => `${x.kind}/${x.name}`).sort()).toEqual(['Deployment/pre-post-sync-kustomize-guestbook-ui', 'Service/pre-post-sync-kustomize-guestbook-ui']);
    await sink.close();
  });
});
