import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { refKey } from '@converge/core';
import type { KubeObject, ObjectRef } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { inventoryLocation, liveHealth, waitForHealth } from '../src/index.js';
import { configMap, crd, deployment, eventually, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
  core = kc.makeApiClient(CoreV1Api);
});

describe('kubeSink.apply', () => {
  it('applies a CRD, its namespace and its custom resources in one call, CRD Established first', async () => {
    const ns = uniqueName('crd');
    const group = `${uniqueName('g')}.converge.test`;
    const { sink, writes } = recordingSink(kc);
    const widget = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size: 3, color: 'blue' } };
    // Given in the "wrong" order on purpose: the sink puts namespaces and CRDs first.
    const results = await sink.apply([widget, configMap(ns, 'settings', { a: '1' }), crd(group, 'Widget', 'widgets'), namespace(ns)]);

    expect(results.map((r) => (r.ok ? 'ok' : r.error.message))).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(writes().filter((w) => w.method === 'PATCH')).toHaveLength(4);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const live = (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', name: 'w1' })) as KubeObject;
    expect(live['spec']).toEqual({ size: 3, color: 'blue' });
    await sink.close();
  });

  it('sends exactly one write request per object and reports each result as it finishes', async () => {
    const ns = uniqueName('one');
    const { sink, writes } = recordingSink(kc, { concurrency: 8 });
    const objects = [namespace(ns), ...Array.from({ length: 30 }, (_, i) => configMap(ns, `cm-${i}`, { i: String(i) }))];
    const seen: string[] = [];
    const results = await sink.apply(objects, { onResult: (r) => seen.push(r.ref.name) });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(writes()).toHaveLength(31);
    expect(writes().every((w) => w.method === 'PATCH' && w.path.includes('fieldManager=converge'))).toBe(true);
    expect(new Set(seen)).toEqual(new Set(objects.map((o) => o.metadata.name)));
    await sink.close();
  });

  it('keeps fields the client library does not know (the manifest is sent as written)', async () => {
    const ns = uniqueName('raw');
    const { sink } = recordingSink(kc);
    const cm = { ...configMap(ns, 'bin', { a: '1' }), binaryData: { blob: Buffer.from('hi').toString('base64') }, immutable: false };
    const [, r] = await sink.apply([namespace(ns), cm]);
    expect(r?.ok).toBe(true);
    const live = await core.readNamespacedConfigMap({ name: 'bin', namespace: ns });
    expect(live.binaryData).toEqual({ blob: Buffer.from('hi').toString('base64') });
    await sink.close();
  });

  it('dry-run validates on the server and persists nothing', async () => {
    const ns = uniqueName('dry');
    const { sink, writes } = recordingSink(kc);
    await sink.apply([namespace(ns)]);
    const [r] = await sink.apply([configMap(ns, 'ghost', { a: '1' })], { dryRun: true });
    expect(r?.ok).toBe(true);
    expect(writes().at(-1)?.dryRun).toBe(true);
    await expect(core.readNamespacedConfigMap({ name: 'ghost', namespace: ns })).rejects.toMatchObject({ code: 404 });
    await sink.close();
  });

  it('dry-run of a new namespace and its objects succeeds and persists nothing; a missing namespace not in the apply still fails', async () => {
    const ns = uniqueName('drynew');
    const { sink } = recordingSink(kc);
    const results = await sink.apply([namespace(ns), configMap(ns, 'ghost', { a: '1' })], { dryRun: true });
    expect(results.map((r) => (r.ok ? 'ok' : r.error.message))).toEqual(['ok', 'ok']);
    const cm = results[1];
    if (cm?.ok) expect(cm.object.metadata).toMatchObject({ name: 'ghost', namespace: ns });
    await expect(core.readNamespace({ name: ns })).rejects.toMatchObject({ code: 404 });

    const [orphan] = await sink.apply([configMap(uniqueName('nowhere'), 'ghost', { a: '1' })], { dryRun: true });
    expect(orphan?.ok).toBe(false);
    if (orphan && !orphan.ok) expect(orphan.error.code).toBe('KUBE_NOT_FOUND');
    await sink.close();
  });

  it('fails only the object whose kind the server does not serve, with UNKNOWN_KIND', async () => {
    const ns = uniqueName('unk');
    const { sink } = recordingSink(kc);
    const [, bad, good] = await sink.apply([
      namespace(ns),
      { apiVersion: 'nope.converge.test/v1', kind: 'Gizmo', metadata: { name: 'g', namespace: ns } },
      configMap(ns, 'fine', {}),
    ]);
    expect(bad?.ok).toBe(false);
    if (bad && !bad.ok) {
      expect(bad.error.code).toBe('UNKNOWN_KIND');
      expect(bad.error.message).toContain('Gizmo');
      expect(bad.error.data.ref).toMatchObject({ kind: 'Gizmo', name: 'g' });
    }
    expect(good?.ok).toBe(true);
    await sink.close();
  });
});

describe('kubeSink.get', () => {
  it('reads many objects of one kind and namespace with one LIST, leaving out missing ones', async () => {
    const ns = uniqueName('get');
    const { sink, requests } = recordingSink(kc);
    await sink.apply([namespace(ns), ...Array.from({ length: 10 }, (_, i) => configMap(ns, `cm-${i}`, { i: String(i) }))]);
    const refs: ObjectRef[] = Array.from({ length: 12 }, (_, i) => ({ group: '', kind: 'ConfigMap', namespace: ns, name: `cm-${i}` }));
    requests.length = 0;
    const live = await sink.get(refs);
    expect(live.map((o) => o.metadata.name)).toEqual(refs.slice(0, 10).map((r) => r.name));
    expect(live[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { i: '0' } });
    expect(requests.filter((r) => r.path.includes(`/namespaces/${ns}/configmaps`))).toHaveLength(1);
    await sink.close();
  });
});

describe('kubeSink.delete', () => {
  it('deletes with Background propagation, reports missing objects, and keeps prune-disabled ones', async () => {
    const ns = uniqueName('del');
    const { sink, requests } = recordingSink(kc);
    await sink.apply([
      namespace(ns),
      configMap(ns, 'doomed', {}),
      configMap(ns, 'kept', {}, { annotations: { 'converge.dev/prune': 'disabled' } }),
    ]);
    const ref = (name: string): ObjectRef => ({ group: '', kind: 'ConfigMap', namespace: ns, name });
    const results = await sink.delete([ref('doomed'), ref('kept'), ref('never-existed')]);
    expect(results).toEqual([
      { ref: ref('doomed'), ok: true, found: true },
      { ref: ref('kept'), ok: true, found: true, skipped: 'prune-disabled' },
      { ref: ref('never-existed'), ok: true, found: false },
    ]);
    expect(requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    await expect(core.readNamespacedConfigMap({ name: 'doomed', namespace: ns })).rejects.toMatchObject({ code: 404 });
    expect((await core.readNamespacedConfigMap({ name: 'kept', namespace: ns })).metadata?.name).toBe('kept');
    await sink.close();
  });
});

describe('inventory', () => {
  it('is kept in a ConfigMap per reconciler, creating its namespace on first write; deleteInventory removes the ConfigMap', async () => {
    const invNs = uniqueName('inv');
    const { sink } = recordingSink(kc, { inventory: { namespace: invNs } });
    const owner = 'Team A/web';
    expect(await sink.readInventory(owner)).toBeUndefined();
    const refs: ObjectRef[] = [
      { group: 'apps', kind: 'Deployment', namespace: 'web', name: 'api' },
      { group: '', kind: 'Namespace', name: 'web' },
    ];
    await sink.writeInventory(owner, refs);
    expect(await sink.readInventory(owner)).toEqual([refs[1], refs[0]]);

    // A restarted agent (a new sink) still knows what it owns.
    const { sink: restarted } = recordingSink(kc, { inventory: { namespace: invNs } });
    expect(await restarted.readInventory(owner)).toHaveLength(2);
    const { name } = inventoryLocation(owner, { namespace: invNs });
    expect(name).toMatch(/^converge-inventory-team-a-web-[0-9a-f]{8}$/);
    const cm = await core.readNamespacedConfigMap({ name, namespace: invNs });
    expect(JSON.parse(cm.data?.['inventory'] ?? '')).toEqual({
      version: 2,
      groups: [
        { group: '', kind: 'Namespace', names: ['web'] },
        { group: 'apps', kind: 'Deployment', namespace: 'web', names: ['api'] },
      ],
    });
    expect(cm.metadata?.annotations?.['converge.dev/owner']).toBe(owner);

    await restarted.writeInventory(owner, []);
    // Another process wrote this inventory since `sink` did: two replicas of one reconciler.
    await expect(sink.readInventory(owner)).rejects.toMatchObject({ code: 'CONCURRENT_WRITER', retryable: true });
    expect(await sink.readInventory(owner)).toEqual([]);

    // Retired for good: the record itself goes; a second delete is a no-op.
    await sink.deleteInventory(owner);
    expect(await restarted.readInventory(owner)).toBeUndefined();
    await expect(core.readNamespacedConfigMap({ name, namespace: invNs })).rejects.toMatchObject({ code: 404 });
    await expect(sink.deleteInventory(owner)).resolves.toBeUndefined();
    await sink.close();
    await restarted.close();
  });
});

describe('live health', () => {
  it('reads health with computeHealth; waitForHealth resolves when Current and times out naming the stragglers', async () => {
    const ns = uniqueName('health');
    const { sink } = recordingSink(kc);
    await sink.apply([namespace(ns), configMap(ns, 'ready', {}), deployment(ns, 'web')]);
    const cm: ObjectRef = { group: '', kind: 'ConfigMap', namespace: ns, name: 'ready' };
    const web: ObjectRef = { group: 'apps', kind: 'Deployment', namespace: ns, name: 'web' };
    const missing: ObjectRef = { group: '', kind: 'ConfigMap', namespace: ns, name: 'missing' };

    const health = await liveHealth(sink, [cm, web, missing]);
    expect(health.get(refKey(cm))?.status).toBe('Current');
    // No controller-manager runs in the test control plane, so the Deployment never rolls out.
    expect(health.get(refKey(web))?.status).toBe('InProgress');
    expect(health.get(refKey(missing))?.status).toBe('NotFound');

    await expect(waitForHealth(sink, [cm], { timeoutMs: 5_000, pollIntervalMs: 50 })).resolves.toBeUndefined();
    await expect(waitForHealth(sink, [cm, web], { timeoutMs: 300, pollIntervalMs: 50 })).rejects.toMatchObject({
      code: 'HEALTH_TIMEOUT',
      message: expect.stringContaining(`Deployment.apps ${ns}/web (InProgress`),
    });
    await sink.close();
  });
});

describe('kubeSink.watch', () => {
  it('reports edits and deletes by others once per burst, ignores our own writes and status-only updates, and stops cleanly', async () => {
    const ns = uniqueName('watch');
    // A burst is edits less than debounceMs apart. Each edit below is a read and a replace, which
    // can take a few hundred ms on a loaded machine: 150 ms split the burst into several reports.
    const debounceMs = 1000;
    /** Long enough for a report that is coming (one debounce period) to have come. */
    const quiet = () => new Promise((r) => setTimeout(r, debounceMs + 500));
    const { sink } = recordingSink(kc, { watch: { debounceMs } });
    await sink.apply([namespace(ns), configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '1' }), deployment(ns, 'web')]);
    const refs: ObjectRef[] = [
      { group: '', kind: 'ConfigMap', namespace: ns, name: 'a' },
      { group: '', kind: 'ConfigMap', namespace: ns, name: 'b' },
      { group: 'apps', kind: 'Deployment', namespace: ns, name: 'web' },
    ];
    const events: string[] = [];
    const stop = sink.watch(refs, (e) => events.push(`${e.type} ${e.ref.kind}/${e.ref.name}`));
    await new Promise((r) => setTimeout(r, 300));

    // Our own write: not drift.
    await sink.apply([configMap(ns, 'a', { v: '2' })]);
    // A controller-style status update: not drift.
    const apps = kc.makeApiClient(AppsV1Api);
    const live = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    await apps.replaceNamespacedDeploymentStatus({ name: 'web', namespace: ns, body: { ...live, status: { observedGeneration: 1, replicas: 0 } } });
    await quiet();
    expect(events).toEqual([]);

    // Three quick edits by someone else: one report. A delete: one report.
    for (const v of ['x', 'y', 'z']) {
      const cm = await core.readNamespacedConfigMap({ name: 'b', namespace: ns });
      await core.replaceNamespacedConfigMap({ name: 'b', namespace: ns, body: { ...cm, data: { v } } });
    }
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: ns });
    await eventually(() => events.length >= 2);
    await quiet();
    expect(events.sort()).toEqual(['deleted ConfigMap/a', 'modified ConfigMap/b']);

    stop();
    const cm = await core.readNamespacedConfigMap({ name: 'b', namespace: ns });
    await core.replaceNamespacedConfigMap({ name: 'b', namespace: ns, body: { ...cm, data: { v: 'after-stop' } } });
    await quiet();
    expect(events).toHaveLength(2);
    await sink.close();
  });
});
