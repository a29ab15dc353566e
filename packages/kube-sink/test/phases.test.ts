import { readFileSync } from 'node:fs';
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { createReconciler, parseManifests } from '@converge/core';
import type { KubeObject, ReconcileEvent } from '@converge/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { desiredState, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;
beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});

const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

const fixture = (name: string): KubeObject[] => parseManifests(readFileSync(new URL(`./fixtures/argocd-example-apps/${name}.yaml`, import.meta.url), 'utf8'), `${name}.yaml`);

/**
 * The test control plane runs no controller-manager: this plays the Job and ReplicaSet
 * controllers through the status subresource, completing every Job and making every
 * ReplicaSet available, and records the order in which it saw them.
 */
function controllers(ns: string): { seen: string[] } {
  const batch = kc.makeApiClient(BatchV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const seen: string[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      for (const job of (await batch.listNamespacedJob({ namespace: ns })).items) {
        if (job.status?.conditions?.length) continue;
        const now = new Date();
        job.status = {
          startTime: now,
          completionTime: now,
          succeeded: 1,
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now, lastProbeTime: now },
            { type: 'Complete', status: 'True', lastTransitionTime: now, lastProbeTime: now },
          ],
        };
        await batch.replaceNamespacedJobStatus({ name: job.metadata!.name!, namespace: ns, body: job });
        seen.push(job.metadata!.name!);
      }
      for (const rs of (await apps.listNamespacedReplicaSet({ namespace: ns })).items) {
        if (rs.status?.availableReplicas) continue;
        const n = rs.spec?.replicas ?? 1;
        rs.status = { replicas: n, readyReplicas: n, availableReplicas: n, fullyLabeledReplicas: n, observedGeneration: rs.metadata?.generation ?? 1 };
        await apps.replaceNamespacedReplicaSetStatus({ name: rs.metadata!.name!, namespace: ns, body: rs });
        seen.push(rs.metadata!.name!);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  void loop().catch(() => undefined);
  stops.push(() => (running = false));
  return { seen };
}

/** What each phase applied: `phase(wave): names` (sorted within a phase, whose applies run concurrently). */
function phases(events: ReconcileEvent[]): string[] {
  const out: { phase: string; names: string[] }[] = [];
  for (const e of events) {
    if (e.type === 'phase.started') out.push({ phase: `${e.phase}${e.wave ?? ''}`, names: [] });
    const name = e.type === 'object.applied' || e.type === 'hook.applied' ? `${e.ref.kind}/${e.ref.name.replace(/-[bcdfghjklmnpqrstvwxz2456789]{5}$|(?<=schema)[bcdfghjklmnpqrstvwxz2456789]{5}$/, '*')}` : undefined;
    if (name) out.at(-1)?.names.push(name);
  }
  return out.map((p) => `${p.phase}: ${p.names.sort().join(' ')}`);
}

async function deploy(app: string, objects: KubeObject[]) {
  const ns = uniqueName(app);
  const { sink: admin } = recordingSink(kc);
  await admin.apply([namespace(ns)]);
  await admin.close();
  const { sink } = recordingSink(kc, { defaultNamespace: ns, inventory: { namespace: ns } });
  const state = desiredState(objects);
  const events: ReconcileEvent[] = [];
  const r = createReconciler({ name: app, source: state.source, render: state.render, sink, prune: true, wait: { timeoutMs: 20_000, pollIntervalMs: 50 } });
  r.on('*', (e) => events.push(e));
  const { seen } = controllers(ns);
  stops.push(() => void sink.close());
  return { ns, r, events, seen, state };
}

describe("Argo CD's example apps deploy in the order their annotations say", () => {
  it('sync-waves: the PreSync hook, then wave 0, the Sync hook of wave 1, wave 2, and the Sync hook of wave 3', async () => {
    const { r, events, ns } = await deploy('sync-waves', fixture('sync-waves'));
    const result = await r.reconcile();
    expect(result.error?.message ?? 'succeeded').toBe('succeeded');
    expect(phases(events)).toEqual([
      'PreSync: Job/upgrade-sql-schema*',
      'Sync0: ReplicaSet/backend Service/backend',
      'Sync1: Job/maint-page-up',
      'Sync2: ReplicaSet/frontend Service/frontend',
      'Sync3: Job/maint-page-down',
    ]);
    // Hooks are not recorded for pruning.
    const inventory = await recordingSink(kc, { inventory: { namespace: ns } }).sink.readInventory('sync-waves');
    expect(inventory?.map((x) => `${x.kind}/${x.name}`).sort()).toEqual(['ReplicaSet/backend', 'ReplicaSet/frontend', 'Service/backend', 'Service/frontend']);
  });

  it('helm-hooks: pre-install hooks by weight, the objects (the weighted Service last), then the post-install hook', async () => {
    const { r, events } = await deploy('helm-hooks', fixture('helm-hooks'));
    const result = await r.reconcile();
    expect(result.error?.message ?? 'succeeded').toBe('succeeded');
    // Two PreSync weights (-2, -1), two waves (0 and the Service's hook-weight 2), then PostSync.
    expect(phases(events)).toEqual(['PreSync: Job/maint-page-up Job/upgrade-sql-schema*', 'Sync0: ReplicaSet/frontend', 'Sync2: Service/frontend', 'PostSync: Job/maint-page-down']);
    const applied = events.filter((e) => e.type === 'hook.applied').map((e) => (e.type === 'hook.applied' ? e.ref.name : ''));
    expect(applied.indexOf('maint-page-up')).toBeGreaterThan(applied.findIndex((n) => n.startsWith('upgrade-sql-schema')));
  });

  it('a hook Job that changes between two revisions upgrades twice without an immutable-field error (before-hook-creation)', async () => {
    const { r, state, ns } = await deploy('upgrade', fixture('helm-hooks'));
    expect((await r.reconcile()).status).toBe('succeeded');
    for (const command of [['sleep', '3'], ['sleep', '4']]) {
      state.objects = fixture('helm-hooks').map((o) => {
        if (o.metadata.name !== 'maint-page-up') return o;
        const job = structuredClone(o);
        ((job['spec'] as { template: { spec: { containers: { command: string[] }[] } } }).template.spec.containers[0] as { command: string[] }).command = command;
        return job;
      });
      const upgraded = await r.reconcile();
      expect(upgraded.error?.message ?? 'succeeded').toBe('succeeded');
      const live = await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: 'maint-page-up', namespace: ns });
      expect(live.spec?.template.spec?.containers[0]?.command).toEqual(command);
    }
  });
});

describe('immutable fields on a real cluster', () => {
  it('changing a Service clusterIP is IMMUTABLE_FIELD naming the field; with converge.dev/force: enabled it is re-created', async () => {
    const ns = uniqueName('immutable');
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    stops.push(() => void sink.close());
    const svc = (ip: string, annotations: Record<string, string> = {}): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: ns, annotations },
      spec: { clusterIP: ip, ports: [{ port: 5432 }] },
    });
    const core = kc.makeApiClient(CoreV1Api);
    const free = async (): Promise<string> => {
      const probe = await core.createNamespacedService({ namespace: ns, body: { metadata: { generateName: 'probe-' }, spec: { ports: [{ port: 1 }] } } });
      const ip = probe.spec!.clusterIP!;
      await core.deleteNamespacedService({ name: probe.metadata!.name!, namespace: ns });
      return ip;
    };
    const state = desiredState([namespace(ns)]);
    const r = createReconciler({ name: 'immutable', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    state.objects = [namespace(ns), svc(await free())];
    expect((await r.reconcile()).status).toBe('succeeded');

    state.objects = [namespace(ns), svc(await free())];
    const refused = await r.reconcile();
    expect(refused.error?.code).toBe('IMMUTABLE_FIELD');
    expect(refused.error?.data['fields']).toEqual(['spec.clusterIPs[0]']);

    const ip = await free();
    state.objects = [namespace(ns), svc(ip, { 'converge.dev/force': 'enabled' })];
    const events: ReconcileEvent[] = [];
    r.on('object.recreated', (e) => events.push(e));
    const recreated = await r.reconcile();
    expect(recreated.error?.message ?? 'succeeded').toBe('succeeded');
    expect(events).toHaveLength(1);
    expect((await core.readNamespacedService({ name: 'db', namespace: ns })).spec?.clusterIP).toBe(ip);
  });
});
