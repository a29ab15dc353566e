import { inspect } from 'node:util';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { TestEnvClient } from '@converge/kube-testenv';
import { OWNER_ANNOTATION, createReconciler, encodeInventory } from '@converge/core';
import type { KubeObject, ReconcileEvent } from '@converge/core';
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
