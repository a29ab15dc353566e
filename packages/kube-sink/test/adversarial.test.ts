import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { TestEnvClient } from '@converge/kube-testenv';
import { OWNER_ANNOTATION, createReconciler, encodeInventory, refKey } from '@converge/core';
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

const exists = async (read: () => Promise<unknown>): Promise<boolean> => {
  try {
    await read();
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
};

async function adminApply(objects: KubeObject[]): Promise<void> {
  const { sink } = recordingSink(kc);
  const results = await sink.apply(objects);
  await sink.close();
  for (const r of results) if (!r.ok) throw r.error;
}

function widgetCrd(group: string, scope: 'Namespaced' | 'Cluster'): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope,
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
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

describe('ATTACK inventory aliasing', () => {
  it('a desired ConfigMap that is the reconciler own inventory record cannot make it prune an object it never applied', async () => {
    const ns = uniqueName('alias');
    const victimNs = uniqueName('victim');
    await adminApply([namespace(ns), namespace(victimNs)]);
    await core.createNamespacedConfigMap({ namespace: victimNs, body: { metadata: { name: 'precious' }, data: { v: 'by hand' } } });
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const { name } = inventoryLocation('aliaser', { namespace: ns });
    const forged = encodeInventory([{ group: '', kind: 'ConfigMap', namespace: victimNs, name: 'precious' }, { group: '', kind: 'ConfigMap', namespace: ns, name: 'a' }]);
    const state = desiredState([configMap(ns, 'a', { v: '1' }), configMap(ns, name, { inventory: forged })]);
    const r = createReconciler({ name: 'aliaser', source: state.source, render: state.render, sink, prune: true });
    const results = [await r.reconcile()];
    state.objects = [configMap(ns, 'a', { v: '2' }), configMap(ns, name, { inventory: forged })];
    results.push(await r.reconcile(), await r.reconcile());
    expect(await exists(() => core.readNamespacedConfigMap({ name: 'precious', namespace: victimNs }))).toBe(true);
    await sink.close();
  });
});

describe('ATTACK CRD prune cascade', () => {
  it('pruning a CRD does not delete custom resources that another reconciler declares', async () => {
    const ns = uniqueName('crdcascade');
    const group = `${uniqueName('w')}.converge.test`;
    await adminApply([namespace(ns)]);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const platform = desiredState([widgetCrd(group, 'Namespaced')]);
    const rp = createReconciler({ name: 'platform', source: platform.source, render: platform.render, sink, prune: true });
    expect((await rp.reconcile()).status).toBe('succeeded');
    const widget: KubeObject = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size: 1 } };
    const team = desiredState([widget]);
    const rt = createReconciler({ name: 'team', source: team.source, render: team.render, sink, prune: true });
    expect((await rt.reconcile()).status).toBe('succeeded');

    platform.objects = [configMap(ns, 'platform-settings', { v: '1' })];
    const pruned = await rp.reconcile();
    const custom = kc.makeApiClient(CustomObjectsApi);
    await new Promise((r) => setTimeout(r, 2000));
    const stillThere = await exists(() => custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', name: 'w1' }));
    expect({ status: pruned.status, code: pruned.error?.code, widgetSurvives: stillThere }).toEqual({ status: 'failed', code: expect.any(String), widgetSurvives: true });
    await sink.close();
  });
});

describe('ATTACK identity recorded with the wrong scope', () => {
  it('a custom kind served only after admission is refused until its scope is known, and no later pass deletes the object it applied', async () => {
    const ns = uniqueName('scope');
    const group = `${uniqueName('late')}.converge.test`;
    await adminApply([namespace(ns)]);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns }, defaultNamespace: ns });
    const widget: KubeObject = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'db' }, spec: { size: 1 } };
    const state = desiredState([widget]);
    const r = createReconciler({ name: 'late', source: state.source, render: state.render, sink, prune: true });
    const events: ReconcileEvent[] = [];
    r.on('*', (e) => events.push(e));
    // Whether Widget is namespaced is unknown at admission: the pass refuses to guess (and records nothing).
    const first = await r.reconcile();
    expect(first.error?.code).toBe('INVALID_OBJECT');
    expect(first.error?.message).toContain('whether it is namespaced is unknown');
    // The platform installs the CRD; once it is served, the object lands in the default namespace.
    await adminApply([widgetCrd(group, 'Namespaced')]);
    let ok = await r.reconcile();
    for (let i = 0; i < 40 && ok.status !== 'succeeded'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ok = await r.reconcile();
    }
    expect(ok.status).toBe('succeeded');
    // The next revision is admitted again, now that discovery knows the kind is namespaced.
    state.objects = [{ ...widget, spec: { size: 2 } }];
    const second = await r.reconcile();
    const custom = kc.makeApiClient(CustomObjectsApi);
    const pruned = events.filter((e) => e.type === 'object.pruned').map((e) => e.type === 'object.pruned' && refKey(e.ref));
    expect({ second: second.status, pruned, inventory: (await sink.readInventory('late'))?.map(refKey) }).toEqual({
      second: 'succeeded',
      pruned: [],
      inventory: [`${group}/Widget/${ns}/db`],
    });
    expect(await exists(() => custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', name: 'db' }))).toBe(true);
    await sink.close();
  });

  it('an inventory entry naming a namespace for a cluster-scoped kind does not delete the desired cluster-scoped object', async () => {
    const ns = uniqueName('clus');
    const role = `${ns}-reader`;
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    // As recorded by a version (or a setNamespace without clusterScoped) that put a namespace on a ClusterRole.
    await sink.writeInventory('clus', [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', namespace: ns, name: role }]);
    const state = desiredState([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: role }, rules: [] } as KubeObject]);
    const r = createReconciler({ name: 'clus', source: state.source, render: state.render, sink, prune: true });
    const result = await r.reconcile();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    expect({ status: result.status, deleted: result.counts.deleted, exists: await exists(() => rbac.readClusterRole({ name: role })) }).toEqual({
      status: 'succeeded',
      deleted: 0,
      exists: true,
    });
    await sink.close();
  });

  // Known limitation (docs/concepts.md): identity includes the API group, so one stored object served
  // under two groups (core v1 Event and events.k8s.io Event) is seen as two objects.
  it.skip('moving an Event from apiVersion v1 to events.k8s.io/v1 (the same object) does not delete it', async () => {
    const ns = uniqueName('ev');
    await adminApply([namespace(ns)]);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const coreEvent: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'marker', namespace: ns },
      involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'x', apiVersion: 'v1' },
      reason: 'Marker',
      message: 'declared in Git',
      type: 'Normal',
      action: 'Declared',
      reportingComponent: 'converge.dev/test',
      reportingInstance: 'test',
      eventTime: '2024-01-01T00:00:00.000000Z',
    };
    const state = desiredState([coreEvent]);
    const r = createReconciler({ name: 'ev', source: state.source, render: state.render, sink, prune: true });
    const firstEv = await r.reconcile();
    expect(firstEv.error?.message).toBeUndefined();
    state.objects = [
      {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: 'marker', namespace: ns },
        regarding: { kind: 'ConfigMap', namespace: ns, name: 'x', apiVersion: 'v1' },
        reason: 'Marker',
        note: 'declared in Git',
        type: 'Normal',
        action: 'Declared',
        reportingController: 'converge.dev/test',
        reportingInstance: 'test',
        eventTime: '2024-01-01T00:00:00.000000Z',
      } as KubeObject,
    ];
    const moved = await r.reconcile();
    expect({ status: moved.status, error: moved.error?.message, deleted: moved.counts.deleted }).toEqual({ status: 'succeeded', error: undefined, deleted: 0 });
    expect(await exists(() => core.readNamespacedEvent({ name: 'marker', namespace: ns }))).toBe(true);
    await sink.close();
  });
});

describe('ATTACK unknown is not gone', () => {
  it('an object whose get and patch are both revoked stays in the inventory, so it is pruned once it leaves Git and rights return', async () => {
    const ns = uniqueName('revoke');
    await adminApply([namespace(ns)]);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const { name: inventoryName } = inventoryLocation('revoker', { namespace: ns });
    const full = [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] }];
    // Everything on configmaps except b (and the inventory, which stays writable).
    const withoutB = [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'list'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'patch', 'update', 'delete'], resourceNames: ['a', inventoryName] },
    ];
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'deployer' }, rules: full } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: 'deployer' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'revoke-bot' }] },
    });
    const user = await env.createUser('revoke-bot');
    const { sink } = recordingSink(user.kubeConfig, { inventory: { namespace: ns } });
    const state = desiredState([configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '1' })]);
    const r = createReconciler({ name: 'revoker', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');

    await rbac.replaceNamespacedRole({ name: 'deployer', namespace: ns, body: { metadata: { name: 'deployer' }, rules: withoutB } });
    state.objects = [configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '2' })];
    const denied = await r.reconcile();
    expect(denied.status).toBe('failed');
    const inventoryAfterDenied = (await sink.readInventory('revoker'))?.map((x) => x.name).sort();

    await rbac.replaceNamespacedRole({ name: 'deployer', namespace: ns, body: { metadata: { name: 'deployer' }, rules: full } });
    state.objects = [configMap(ns, 'a', { v: '1' })];
    const healed = await r.reconcile();
    expect({ inventoryAfterDenied, healed: healed.status, deleted: healed.counts.deleted }).toEqual({ inventoryAfterDenied: ['a', 'b'], healed: 'succeeded', deleted: 1 });
    await sink.close();
  });

  it('a hand-made object recreated under a recorded name (without the owner annotation) is not pruned', async () => {
    const ns = uniqueName('recreate');
    await adminApply([namespace(ns)]);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const state = desiredState([configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '1' })]);
    const r = createReconciler({ name: 'recreate', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    // Someone deletes b and makes their own b (a different object: another uid, no owner annotation).
    await core.deleteNamespacedConfigMap({ name: 'b', namespace: ns });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'b' }, data: { precious: 'by hand' } } });
    state.objects = [configMap(ns, 'a', { v: '1' })];
    await r.reconcile();
    expect(await exists(() => core.readNamespacedConfigMap({ name: 'b', namespace: ns }))).toBe(true);
    await sink.close();
  });
});

describe('ATTACK damaged inventory records', () => {
  /** A reconciler that recorded keep+leaves; the record is then damaged; a restarted process (fresh sink) runs as 'leaves' leaves Git. */
  async function setupDamaged(owner: string, extra: ObjectRef[], damage: (ns: string, name: string) => Promise<void>) {
    const ns = uniqueName('dmg');
    await adminApply([namespace(ns)]);
    const first = recordingSink(kc, { inventory: { namespace: ns } }).sink;
    const state = desiredState([configMap(ns, 'keep', { v: '1' }), configMap(ns, 'leaves', { v: '1' })]);
    expect((await createReconciler({ name: owner, source: state.source, render: state.render, sink: first, prune: true }).reconcile()).status).toBe('succeeded');
    if (extra.length > 0) await first.writeInventory(owner, [...((await first.readInventory(owner)) ?? []), ...extra]);
    await first.close();
    const { name } = inventoryLocation(owner, { namespace: ns });
    await damage(ns, name);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    state.objects = [configMap(ns, 'keep', { v: '1' })];
    const events: ReconcileEvent[] = [];
    const r = createReconciler({ name: owner, source: state.source, render: state.render, sink, prune: true });
    r.on('*', (e) => events.push(e));
    const damagedPass = await r.reconcile();
    const inventory = (await sink.readInventory(owner).catch(() => undefined))?.map((x) => x.name).sort();
    const survives = await exists(() => core.readNamespacedConfigMap({ name: 'leaves', namespace: ns }));
    await sink.close();
    return { damagedPass: damagedPass.status, repaired: events.some((e) => e.type === 'inventory.repaired' && e.unreadable !== undefined), survives, inventory };
  }

  it('a head ConfigMap holding truncated JSON is rebuilt from the objects carrying the owner name, so what left Git is still pruned', async () => {
    const out = await setupDamaged('garbage', [], async (ns, name) => {
      await core.patchNamespacedConfigMap({ name, namespace: ns, body: [{ op: 'replace', path: '/data/inventory', value: '{"version":2,"groups":[{"group":"","kind":"ConfigMap"' }] });
    });
    expect(out).toEqual({ damagedPass: 'succeeded', repaired: true, survives: false, inventory: ['keep'] });
  });

  it('a compressed inventory missing one part is rebuilt from the objects carrying the owner name, so what left Git is still pruned', async () => {
    const filler: ObjectRef[] = Array.from({ length: 30_000 }, (_, i) => ({ group: 'example.com', kind: 'Widget', namespace: 'gone', name: `w-${createHash('sha256').update(String(i)).digest('hex')}` }));
    const out = await setupDamaged('parts', filler, async (ns, name) => {
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      const part = list.items.find((c) => c.metadata?.name?.startsWith(`${name}-`));
      expect(part).toBeDefined();
      await core.deleteNamespacedConfigMap({ name: part!.metadata!.name!, namespace: ns });
    });
    expect(out).toEqual({ damagedPass: 'succeeded', repaired: true, survives: false, inventory: ['keep'] });
  });
});

describe('GUARD ownership races on a real cluster', () => {
  it('three reconcilers creating, then updating, the same object at once end with exactly one owner; the losers record nothing and prune nothing', async () => {
    const ns = uniqueName('race3');
    await adminApply([namespace(ns)]);
    const sinks = [0, 1, 2].map(() => recordingSink(kc, { inventory: { namespace: ns } }).sink);
    for (let trial = 0; trial < 4; trial++) {
      const states = [0, 1, 2].map((i) => desiredState([configMap(ns, `shared-${trial}`, { from: String(i) })]));
      const rs = states.map((s, i) => createReconciler({ name: `r${i}-${trial}`, source: s.source, render: s.render, sink: sinks[i]!, prune: true }));
      const results = await Promise.all(rs.map((r) => r.reconcile()));
      expect(results.filter((x) => x.status === 'succeeded')).toHaveLength(1);
      const winner = results.findIndex((x) => x.status === 'succeeded');
      for (const [i, x] of results.entries()) if (i !== winner) expect(x.error?.code).toBe('OWNERSHIP_CONFLICT');
      const live = await core.readNamespacedConfigMap({ name: `shared-${trial}`, namespace: ns });
      expect(live.metadata?.annotations?.[OWNER_ANNOTATION]).toBe(`r${winner}-${trial}`);
      // All three change their copy again and the losers drop it: still one owner, nothing deleted.
      states.forEach((s, i) => (s.objects = i === winner ? [configMap(ns, `shared-${trial}`, { from: `${i}-again` })] : [configMap(ns, `own-${i}-${trial}`, { v: '1' })]));
      await Promise.all(rs.map((r) => r.reconcile()));
      const after = await core.readNamespacedConfigMap({ name: `shared-${trial}`, namespace: ns });
      expect(after.metadata?.annotations?.[OWNER_ANNOTATION]).toBe(`r${winner}-${trial}`);
      expect(after.data).toEqual({ from: `${winner}-again` });
      for (const [i] of results.entries()) {
        if (i === winner) continue;
        expect(((await sinks[i]!.readInventory(`r${i}-${trial}`)) ?? []).map((x) => x.name)).not.toContain(`shared-${trial}`);
      }
    }
    for (const s of sinks) await s.close();
  });

  it('a hand edit racing the drift correction is reverted, and the object keeps its single owner', async () => {
    const ns = uniqueName('edit');
    await adminApply([namespace(ns)]);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const state = desiredState([configMap(ns, 'cfg', { mode: 'git' })]);
    const r = createReconciler({ name: 'edit', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    const edits = Array.from({ length: 5 }, (_, i) =>
      core.patchNamespacedConfigMap({ name: 'cfg', namespace: ns, body: [{ op: 'replace', path: '/data/mode', value: `hand-${i}` }] }),
    );
    const passes = [r.reconcile(), r.reconcile()];
    await Promise.all(edits);
    await Promise.all(passes);
    expect((await r.reconcile()).status).toBe('succeeded');
    const live = await core.readNamespacedConfigMap({ name: 'cfg', namespace: ns });
    expect(live.data).toEqual({ mode: 'git' });
    expect(live.metadata?.annotations?.[OWNER_ANNOTATION]).toBe('edit');
    await sink.close();
  });
});

describe('GUARD inventory records that are not ours', () => {
  it('an inventory ConfigMap recorded for another owner fails the pass with INVENTORY_INVALID and nothing is written', async () => {
    const ns = uniqueName('wrongowner');
    await adminApply([namespace(ns)]);
    const { name } = inventoryLocation('mine', { namespace: ns });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name, annotations: { 'converge.dev/owner': 'someone-else' } }, data: { inventory: encodeInventory([{ group: '', kind: 'Namespace', name: 'kube-system' }]) } },
    });
    const { sink, writes } = recordingSink(kc, { inventory: { namespace: ns } });
    const state = desiredState([configMap(ns, 'a', { v: '1' })]);
    const result = await createReconciler({ name: 'mine', source: state.source, render: state.render, sink, prune: true }).reconcile();
    expect(result.error?.code).toBe('INVENTORY_INVALID');
    expect(writes()).toHaveLength(0);
    await sink.close();
  });
});

describe('GUARD namespace deletion with contents the identity cannot list', () => {
  it('a Namespace holding objects of a kind the identity may not list is not deleted', async () => {
    const ns = uniqueName('nolist');
    const invNs = uniqueName('inv');
    await adminApply([namespace(invNs)]);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: {
        metadata: { name: `${ns}-deployer` },
        rules: [
          { apiGroups: [''], resources: ['namespaces', 'configmaps'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] },
          { apiGroups: ['*'], resources: ['*'], verbs: ['get'] },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: `${ns}-deployer` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ns}-deployer` }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `${ns}-bot` }] },
    });
    const user = await env.createUser(`${ns}-bot`);
    const { sink } = recordingSink(user.kubeConfig, { inventory: { namespace: invNs } });
    const state = desiredState([namespace(ns), configMap(ns, 'ours', { v: '1' })]);
    const r = createReconciler({ name: 'nolist', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'precious' }, stringData: { k: 'v' } } });
    state.objects = [configMap(invNs, 'elsewhere', { v: '1' })];
    const refused = await r.reconcile({ approvePrune: true });
    expect(refused.status).toBe('failed');
    expect((await core.readNamespace({ name: ns })).metadata?.deletionTimestamp).toBeUndefined();
    expect(await exists(() => core.readNamespacedSecret({ name: 'precious', namespace: ns }))).toBe(true);
    await sink.close();
  });
});

describe('GUARD Secret values on a real cluster', () => {
  it('a Secret the server rejects (invalid base64, a value echoed in its message) fails without the value anywhere', async () => {
    const ns = uniqueName('sec');
    await adminApply([namespace(ns)]);
    const { sink } = recordingSink(kc, { inventory: { namespace: ns } });
    const marker = 'hunter2-real-server-value';
    const bad: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: ns, annotations: { note: `copy of ${marker}` } },
      data: { token: `${marker}!!*` },
      stringData: { pw: marker },
      type: `kubernetes.io/${marker}`,
    };
    const state = desiredState([bad]);
    const events: ReconcileEvent[] = [];
    const r = createReconciler({ name: 'sec', source: state.source, render: state.render, sink, prune: true });
    r.on('*', (e) => events.push(e));
    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    const printed = inspect({ result, events, status: r.status() }, { depth: null }) + JSON.stringify(result.error?.data) + JSON.stringify(events);
    expect(printed).not.toContain(marker);
    await sink.close();
  });
});
