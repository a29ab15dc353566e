import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { createReconciler } from '@converge/core';
import type { KubeObject } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { configMap, deployment, desiredState, eventLog, eventually, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
  core = kc.makeApiClient(CoreV1Api);
});

function crd(group: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `databases.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind: 'Database', plural: 'databases', singular: 'database', listKind: 'DatabaseList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
        },
      ],
    },
  } as unknown as KubeObject;
}

describe('a reconciler on kubeSink', () => {
  it('creates, updates and prunes core and custom resources; a pass with nothing to change sends no writes', async () => {
    const ns = uniqueName('app');
    const group = `${uniqueName('db')}.converge.test`;
    const { sink, writes, requests } = recordingSink(kc, { inventory: { namespace: ns } });
    const db = (name: string, size: number): KubeObject => ({ apiVersion: `${group}/v1`, kind: 'Database', metadata: { name, namespace: ns }, spec: { size } });
    const state = desiredState([namespace(ns), crd(group), db('main', 1), db('old', 1), configMap(ns, 'settings', { mode: 'a' }), deployment(ns, 'api')]);
    const r = createReconciler({ name: 'app', source: state.source, render: state.render, sink, prune: true });

    const first = await r.reconcile();
    expect(first.error?.message).toBeUndefined();
    expect(first).toMatchObject({ status: 'succeeded', counts: { created: 6, updated: 0, deleted: 0 } });
    const custom = kc.makeApiClient(CustomObjectsApi);
    expect(await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'databases', name: 'old' })).toBeTruthy();

    // Nothing changed: the pass reads, but writes nothing.
    const before = writes().length;
    const readsBefore = requests.length;
    const noop = await r.reconcile();
    expect(noop).toMatchObject({ status: 'succeeded', counts: { created: 0, updated: 0, deleted: 0, unchanged: 6 } });
    expect(writes().length - before).toBe(0);
    // One GET for the inventory and a handful of reads for the live state.
    expect(requests.length - readsBefore).toBeLessThanOrEqual(8);

    // Update one object, drop another: one apply and one delete.
    state.objects = [namespace(ns), crd(group), db('main', 2), configMap(ns, 'settings', { mode: 'b' }), deployment(ns, 'api')];
    const writesBefore = writes().length;
    const second = await r.reconcile();
    expect(second).toMatchObject({ status: 'succeeded', counts: { created: 0, updated: 2, deleted: 1, unchanged: 3 } });
    const passWrites = writes().slice(writesBefore);
    expect(passWrites.filter((w) => w.method === 'DELETE')).toHaveLength(1);
    expect(passWrites.filter((w) => w.method === 'PATCH' && !w.path.includes('converge-inventory'))).toHaveLength(2);
    const main = (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'databases', name: 'main' })) as KubeObject;
    expect(main['spec']).toEqual({ size: 2 });
    await expect(custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'databases', name: 'old' })).rejects.toMatchObject({ code: 404 });
    expect((await core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data).toEqual({ mode: 'b' });
    await sink.close();
  });

  it('detects drift made by another client through the watch and reverts it, taking the edited fields back', async () => {
    const ns = uniqueName('drift');
    // No `force` on the sink: a drift pass (same revision) forces on its own.
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const state = desiredState([namespace(ns), configMap(ns, 'settings', { color: 'blue' }), deployment(ns, 'web')]);
    const log = eventLog();
    const r = createReconciler({ name: 'drift', source: state.source, render: state.render, sink, intervalMs: 3_600_000 });
    r.on('*', log.push);
    r.start();
    try {
      await eventually(() => log.events.some((e) => e.type === 'pass.succeeded'));
      // Our own writes are not drift.
      await new Promise((res) => setTimeout(res, 400));
      expect(log.events.filter((e) => e.type === 'drift.detected')).toHaveLength(0);

      // `kubectl edit`-style: read, change, write back with a plain update (PUT).
      const live = await core.readNamespacedConfigMap({ name: 'settings', namespace: ns });
      await core.replaceNamespacedConfigMap({ name: 'settings', namespace: ns, body: { ...live, data: { color: 'red' } } });
      const apps = kc.makeApiClient(AppsV1Api);
      await apps.deleteNamespacedDeployment({ name: 'web', namespace: ns });

      await eventually(async () => (await core.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data?.['color'] === 'blue');
      await eventually(async () => !!(await apps.readNamespacedDeployment({ name: 'web', namespace: ns }).catch(() => undefined)));
      const drifts = log.events.filter((e) => e.type === 'drift.detected');
      expect(drifts.map((e) => (e.type === 'drift.detected' ? `${e.ref.kind}/${e.ref.name}` : ''))).toEqual(
        expect.arrayContaining(['ConfigMap/settings', 'Deployment/web']),
      );
    } finally {
      await r.stop();
      await sink.close();
    }
  });

  it('never lets Secret values reach events, errors or messages', async () => {
    const ns = uniqueName('sec');
    const secretValue = 'hunter2-very-secret';
    const b64 = Buffer.from(secretValue).toString('base64');
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const secret = (data: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: ns },
      type: 'Opaque',
      data,
      ...extra,
    });
    const state = desiredState([namespace(ns), secret({ password: b64 })]);
    const log = eventLog();
    const r = createReconciler({ name: 'sec', source: state.source, render: state.render, sink });
    r.on('*', log.push);
    expect((await r.reconcile()).status).toBe('succeeded');

    // Someone else takes the field over; our next change conflicts, another one is invalid.
    const { sink: other } = recordingSink(kc, { fieldManager: 'other-team', force: true });
    const [taken] = await other.apply([secret({ password: Buffer.from('other-secret-value').toString('base64') })]);
    expect(taken?.ok).toBe(true);
    await other.close();
    state.objects = [namespace(ns), secret({ password: b64, token: b64 }, { type: 'kubernetes.io/tls' })];
    const failed = await r.reconcile();
    expect(failed.status).toBe('failed');
    const everything = JSON.stringify({ events: log.events, error: failed.error, message: failed.error?.message, cause: String(failed.error?.cause) });
    expect(everything).not.toContain(secretValue);
    expect(everything).not.toContain(b64);
    expect(everything).not.toContain('other-secret-value');
    expect(everything).not.toContain(Buffer.from('other-secret-value').toString('base64'));
    await sink.close();
  });
});
