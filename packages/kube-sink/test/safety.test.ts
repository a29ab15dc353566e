import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { TestEnvClient } from '@converge/kube-testenv';
import { NAMESPACE_DELETE_ANNOTATION, OWNER_ANNOTATION, createReconciler, parseManifests, refKey } from '@converge/core';
import type { KubeObject, ObjectRef, ReconcileEvent } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { inventoryLocation } from '../src/index.js';
import { configMap, desiredState, namespace, recordingSink, uniqueName } from './helpers.js';

let env: TestEnvClient;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  env = await useTestEnv();
  kc = env.kubeConfig;
  core = kc.makeApiClient(CoreV1Api);
});

const secret = (ns: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { token: 'keep-me' } });

describe('forged identities on a real cluster', () => {
  it('a name carrying a newline and slashes cannot reach the inventory, so removing it later deletes nothing else', async () => {
    const ns = uniqueName('forge');
    const victimNs = uniqueName('victim');
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    await sink.apply([namespace(ns), namespace(victimNs), secret(victimNs, 'token')]);
    const forged = parseManifests(
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "x\\n/Secret/${victimNs}/token"\n  namespace: ${ns}\ndata: {}\n`,
      'forged.yaml',
    );
    const state = desiredState([configMap(ns, 'a', { v: '1' }), ...forged]);
    const r = createReconciler({ name: 'forger', source: state.source, render: state.render, sink, prune: true });

    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('INVALID_OBJECT');
    expect(result.error?.message).toContain('forged.yaml:1');

    state.objects = [configMap(ns, 'a', { v: '1' })];
    expect((await r.reconcile()).status).toBe('succeeded');
    state.objects = [configMap(ns, 'b', { v: '1' })];
    expect((await r.reconcile()).status).toBe('succeeded');
    expect((await core.readNamespacedSecret({ name: 'token', namespace: victimNs })).metadata?.name).toBe('token');
    await sink.close();
  });

  it('an inventory poisoned by an earlier version is reported and repaired, not fatal, and the object it names survives', async () => {
    const ns = uniqueName('poison');
    const victimNs = uniqueName('victim');
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    await sink.apply([namespace(ns), namespace(victimNs), secret(victimNs, 'token')]);
    const { name } = inventoryLocation('poisoned', { namespace: ns });
    // The line format of 0.1, with entries a forged name wrote: one names the victim, one is unparseable.
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name, annotations: { 'converge.dev/owner': 'poisoned' } },
        data: { refs: `/ConfigMap/${ns}/x\n/Secret/${victimNs}/token/extra\nbad/name` },
      },
    });
    const events: ReconcileEvent[] = [];
    const state = desiredState([configMap(ns, 'a', { v: '1' })]);
    const r = createReconciler({ name: 'poisoned', source: state.source, render: state.render, sink, prune: true });
    r.on('*', (e) => events.push(e));

    const result = await r.reconcile();

    expect(result.status).toBe('succeeded');
    const repaired = events.find((e) => e.type === 'inventory.repaired');
    expect(repaired?.type === 'inventory.repaired' && repaired.dropped).toHaveLength(2);
    expect((await core.readNamespacedSecret({ name: 'token', namespace: victimNs })).metadata?.name).toBe('token');
    expect((await sink.readInventory('poisoned'))?.map(refKey).sort()).toEqual([`/ConfigMap/${ns}/a`]);
    await sink.close();
  });
});

describe('planned identity equals stored identity on a real cluster', () => {
  it('a namespaced manifest without a namespace lands in the default namespace, is not re-applied as drift, and is pruned when it leaves', async () => {
    const ns = uniqueName('bare');
    const { sink: admin } = recordingSink(kc);
    await admin.apply([namespace(ns)]);
    await admin.close();
    const { sink, writes } = recordingSink(kc, { defaultNamespace: ns, inventory: { namespace: ns } });
    const bare = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '1' } });
    const state = desiredState([bare('keep'), bare('leaves')]);
    const r = createReconciler({ name: 'bare', source: state.source, render: state.render, sink, prune: true });

    expect((await r.reconcile()).counts.created).toBe(2);
    const before = writes().length;
    const again = await r.reconcile();
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    expect(writes().length).toBe(before);

    state.objects = [bare('keep')];
    expect((await r.reconcile()).counts.deleted).toBe(1);
    await expect(core.readNamespacedConfigMap({ name: 'leaves', namespace: ns })).rejects.toMatchObject({ code: 404 });
    expect((await sink.readInventory('bare'))?.map(refKey)).toEqual([`/ConfigMap/${ns}/keep`]);
    await sink.close();
  });

  it('a cluster-scoped object that names a namespace is an error at its file and line, before anything is applied', async () => {
    const ns = uniqueName('scoped');
    const { sink, writes } = recordingSink(kc, { inventory: { namespace: ns } });
    const objects = parseManifests(`apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ${ns}-reader\n  namespace: ${ns}\nrules: []\n`, 'rbac/role.yaml');
    const state = desiredState(objects);
    const result = await createReconciler({ name: 'scoped', source: state.source, render: state.render, sink }).reconcile();
    expect(result.error?.code).toBe('INVALID_OBJECT');
    expect(result.error?.message).toContain('rbac/role.yaml:1');
    expect(writes()).toHaveLength(0);
    await sink.close();
  });
});

describe('unknown is not gone', () => {
  it('an object the identity can no longer read stays in the inventory and blocks its own prune with a clear error until it can be read', async () => {
    const ns = uniqueName('unread');
    const { sink: admin } = recordingSink(kc);
    await admin.apply([namespace(ns)]);
    await admin.close();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const { name: inventoryName } = inventoryLocation('reader', { namespace: ns });
    const rules = (readable?: string[]) => [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'patch', 'update', 'delete'] },
      readable ? { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: readable } : { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
    ];
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'deployer' }, rules: rules() } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'deployer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'reader-bot' }],
      },
    });
    const user = await env.createUser('reader-bot');
    const { sink } = recordingSink(user.kubeConfig, { inventory: { namespace: ns } });
    const state = desiredState([configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '1' })]);
    const r = createReconciler({ name: 'reader', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');

    // `get` on b is revoked, then b leaves Git.
    await rbac.replaceNamespacedRole({ name: 'deployer', namespace: ns, body: { metadata: { name: 'deployer' }, rules: rules(['a', inventoryName]) } });
    state.objects = [configMap(ns, 'a', { v: '1' })];
    const blocked = await r.reconcile();
    expect(blocked.status).toBe('failed');
    expect(blocked.error?.code).toBe('KUBE_FORBIDDEN');
    expect(blocked.error?.message).toContain('b');
    expect((await sink.readInventory('reader'))?.map((x) => x.name).sort()).toEqual(['a', 'b']);
    expect((await core.readNamespacedConfigMap({ name: 'b', namespace: ns })).metadata?.name).toBe('b');

    await rbac.replaceNamespacedRole({ name: 'deployer', namespace: ns, body: { metadata: { name: 'deployer' }, rules: rules() } });
    const healed = await r.reconcile();
    expect(healed.status).toBe('succeeded');
    expect(healed.counts.deleted).toBe(1);
    await expect(core.readNamespacedConfigMap({ name: 'b', namespace: ns })).rejects.toMatchObject({ code: 404 });
    await sink.close();
  });
});

describe('ownership under concurrency on a real cluster', () => {
  it('two reconcilers creating the same object in concurrent passes end with exactly one owner and a conflict in the same pass (10 trials)', async () => {
    const ns = uniqueName('race');
    const { sink: admin } = recordingSink(kc);
    await admin.apply([namespace(ns)]);
    await admin.close();
    const { sink: sinkX } = recordingSink(kc, { inventory: { namespace: ns } });
    const { sink: sinkY } = recordingSink(kc, { inventory: { namespace: ns } });
    for (let trial = 0; trial < 10; trial++) {
      const name = `shared-${trial}`;
      const x = desiredState([configMap(ns, name, { from: 'x' })]);
      const y = desiredState([configMap(ns, name, { from: 'y' })]);
      const rx = createReconciler({ name: `x-${trial}`, source: x.source, render: x.render, sink: sinkX, prune: true });
      const ry = createReconciler({ name: `y-${trial}`, source: y.source, render: y.render, sink: sinkY, prune: true });

      const [a, b] = await Promise.all([rx.reconcile(), ry.reconcile()]);

      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual(['failed', 'succeeded']);
      const loser = a.status === 'failed' ? a : b;
      expect(loser.error?.code).toBe('OWNERSHIP_CONFLICT');
      const live = await core.readNamespacedConfigMap({ name, namespace: ns });
      const winner = a.status === 'succeeded' ? `x-${trial}` : `y-${trial}`;
      expect(live.metadata?.annotations?.[OWNER_ANNOTATION]).toBe(winner);
      expect(live.data?.['from']).toBe(winner[0]);
      const loserName = winner.startsWith('x') ? `y-${trial}` : `x-${trial}`;
      const ref: ObjectRef = { group: '', kind: 'ConfigMap', namespace: ns, name };
      expect(((await sinkX.readInventory(loserName)) ?? (await sinkY.readInventory(loserName)) ?? []).map(refKey)).not.toContain(refKey(ref));
      // Each reconciler applies under its own field manager.
      expect(live.metadata?.managedFields?.map((f) => f.manager)).toContain(`converge:${winner}`);

      // The loser dropping the object from Git prunes nothing.
      (winner.startsWith('x') ? y : x).objects = [configMap(ns, `other-${trial}`, { v: '1' })];
      await (winner.startsWith('x') ? ry : rx).reconcile();
      expect((await core.readNamespacedConfigMap({ name, namespace: ns })).metadata?.name).toBe(name);
    }
    await sinkX.close();
    await sinkY.close();
  });
});

describe('namespace deletion on a real cluster', () => {
  it('is refused while the namespace holds objects made by hand or kept from pruning, and allowed once annotated', async () => {
    const ns = uniqueName('nsdel');
    const invNs = uniqueName('inv');
    const { sink } = recordingSink(kc, { inventory: { namespace: invNs } });
    const state = desiredState([namespace(ns), configMap(ns, 'ours', { v: '1' })]);
    const r = createReconciler({ name: 'nsdel', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'by-hand' }, data: { precious: 'yes' } } });

    state.objects = [configMap(invNs, 'elsewhere', { v: '1' })];
    const refused = await r.reconcile({ approvePrune: true });
    expect(refused.error?.code).toBe('NAMESPACE_NOT_EMPTY');
    expect(refused.error?.message).toContain(`ConfigMap ${ns}/by-hand`);
    expect(refused.error?.message).not.toContain(`${ns}/ours`);
    expect((await core.readNamespace({ name: ns })).metadata?.deletionTimestamp).toBeUndefined();
    expect((await core.readNamespacedConfigMap({ name: 'ours', namespace: ns })).metadata?.name).toBe('ours');

    await core.patchNamespace({ name: ns, body: [{ op: 'add', path: `/metadata/annotations/${NAMESPACE_DELETE_ANNOTATION.replace('/', '~1')}`, value: 'true' }] });
    const allowed = await r.reconcile({ approvePrune: true });
    expect(allowed.status).toBe('succeeded');
    expect((await core.readNamespace({ name: ns })).metadata?.deletionTimestamp).toBeDefined();
    await sink.close();
  });
});

describe('large inventories', () => {
  it('100,000 refs are stored (compressed, split over ConfigMaps) and read back exactly; shrinking removes the extra parts', async () => {
    const ns = uniqueName('big');
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const refs: ObjectRef[] = Array.from({ length: 100_000 }, (_, i) => ({
      group: 'example.com',
      kind: 'Widget',
      namespace: `team-${i % 50}`,
      // Random names, which compress least: the worst case.
      name: `w-${randomUUID()}`,
    }));
    const started = Date.now();
    await sink.writeInventory('big', refs);
    const back = await sink.readInventory('big');
    const elapsed = Date.now() - started;
    expect(back?.map(refKey).sort()).toEqual(refs.map(refKey).sort());
    const configMaps = async () => (await core.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata?.name);
    expect((await configMaps()).length).toBeGreaterThan(1);
    expect(elapsed).toBeLessThan(20_000);

    await sink.writeInventory('big', refs.slice(0, 10));
    expect(await configMaps()).toHaveLength(1);
    expect(await sink.readInventory('big')).toHaveLength(10);
    await sink.deleteInventory('big');
    expect(await configMaps()).toHaveLength(0);
    await sink.close();
  });
});

describe('two replicas of one reconciler', () => {
  it('on different revisions, each write by the other is reported as CONCURRENT_WRITER and the pass changes nothing', async () => {
    const ns = uniqueName('replicas');
    const { sink: sinkA } = recordingSink(kc, { inventory: { namespace: ns } });
    const { sink: sinkB } = recordingSink(kc, { inventory: { namespace: ns } });
    const a = desiredState([namespace(ns), configMap(ns, 'common', { v: '1' }), configMap(ns, 'only-a', { v: '1' })]);
    const b = desiredState([namespace(ns), configMap(ns, 'common', { v: '1' }), configMap(ns, 'only-b', { v: '1' })]);
    const ra = createReconciler({ name: 'web', source: a.source, render: a.render, sink: sinkA, prune: true });
    const rb = createReconciler({ name: 'web', source: b.source, render: b.render, sink: sinkB, prune: true });
    expect((await ra.reconcile()).status).toBe('succeeded');
    expect((await rb.reconcile()).status).toBe('succeeded'); // b prunes only-a: the flap starts

    const next = await ra.reconcile();
    expect(next.status).toBe('failed');
    expect(next.error?.code).toBe('CONCURRENT_WRITER');
    expect(next.error?.message).toContain('two replicas');
    // a changed nothing: b's object is still there.
    expect((await core.readNamespacedConfigMap({ name: 'only-b', namespace: ns })).metadata?.name).toBe('only-b');
    await sinkA.close();
    await sinkB.close();
  });
});

describe('Secret values through a whole pass on a real cluster', () => {
  it('a Secret the server rejects leaves no value in the result, events or status, plain or base64', async () => {
    const ns = uniqueName('leak');
    const marker = 'zebra-quartz-7781-marker';
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const bad: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: ns },
      // Not valid base64: the server's 422 would quote it.
      data: { password: `${marker}!!` },
      stringData: { token: marker },
    };
    const state = desiredState([namespace(ns), bad]);
    const events: ReconcileEvent[] = [];
    const r = createReconciler({ name: 'leak', source: state.source, render: state.render, sink });
    r.on('*', (e) => events.push(e));

    const result = await r.reconcile();

    expect(result.status).toBe('failed');
    const printed = inspect({ result, events, status: r.status() }, { depth: null }) + JSON.stringify({ data: result.error?.data, events });
    for (const form of [marker, Buffer.from(marker).toString('base64')]) expect(printed).not.toContain(form);
    await sink.close();
  });
});
