import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NAMESPACE_DELETE_ANNOTATION, OWNER_ANNOTATION, PRUNE_ANNOTATION } from '../../src/annotations.js';
import { SinkError } from '../../src/errors.js';
import type { ReconcileEvent } from '../../src/events.js';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import { formatRef, refKey, type KubeObject, type ObjectRef } from '../../src/object.js';
import { setDefaultNamespace, setOrigin } from '../../src/origin.js';
import { createReconciler, type ReconcilerOptions } from '../../src/reconciler.js';
import type { Sink } from '../../src/sink.js';
import type { Source } from '../../src/source.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { scene } from './scene.js';


const cm = (name: string, namespace: string | null = 'app', data: Record<string, string> = { v: '1' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace !== null && { namespace }) },
  data,
});

function setup(objects: KubeObject[], options: Partial<ReconcilerOptions> = {}, sink: Sink = new MemorySink()) {
  const s = scene(objects);
  const events: ReconcileEvent[] = [];
  const reconciler = createReconciler({ name: 'app', source: s.source, render: s.render, sink, prune: true, ...options });
  reconciler.on('*', (e) => events.push(e));
  return { ...s, sink, reconciler, events };
}

describe('identities are validated where objects enter', () => {
  const forged = [
    { name: 'a newline that would forge an inventory line', obj: cm('x\n/Secret/kube-system/token') },
    { name: 'a slash in the name', obj: cm('bad/name') },
    { name: 'a slash in the kind', obj: { ...cm('a'), kind: 'ConfigMap/../Secret' } },
    { name: 'a control character in the namespace', obj: cm('a', 'ns\u0000x') },
    { name: 'an upper-case namespace', obj: cm('a', 'Prod') },
    { name: 'a group that is not a DNS name', obj: { ...cm('a'), apiVersion: 'evil group/v1' } },
    { name: 'generateName instead of a name', obj: { apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'migrate-' } } as unknown as KubeObject },
  ];

  it.each(forged)('$name fails the pass with INVALID_OBJECT before anything is written', async ({ obj }) => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('keep')], {}, sink);
    await reconciler.reconcile();
    const writes = sink.writes;
    const inventory = await sink.readInventory('app');

    set([cm('keep'), setOrigin(obj, { file: 'forged.yaml', line: 7 })]);
    const result = await reconciler.reconcile();

    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('INVALID_OBJECT');
    expect(result.error?.data.position).toEqual({ file: 'forged.yaml', line: 7 });
    expect(sink.writes).toBe(writes);
    expect(await sink.readInventory('app')).toEqual(inventory);
  });

  it('accepts the names Kubernetes accepts, such as RBAC names with colons', async () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:aggregate-to-view:widgets' }, rules: [] };
    const { reconciler } = setup([role]);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
  });

  it('a damaged inventory is reported, never pruned from, and repaired from what can be proven', async () => {
    const sink = new MemorySink({ objects: [cm('victim', 'kube-system')] });
    const victim: ObjectRef = { group: '', kind: 'ConfigMap', namespace: 'kube-system', name: 'victim' };
    // What a forged entry of an earlier version looks like once decoded: a ref no valid object has.
    await sink.writeInventory('app', [{ group: '', kind: 'ConfigMap', namespace: 'app', name: 'x\n//ConfigMap/kube-system/victim' }, { group: '', kind: '', name: '/ConfigMap/kube-system' }]);
    const { reconciler, events } = setup([cm('a')], {}, sink);

    const result = await reconciler.reconcile();

    expect(result.status).toBe('succeeded');
    expect(sink.getObject(victim)).toBeDefined();
    const repaired = events.find((e) => e.type === 'inventory.repaired');
    expect(repaired?.type === 'inventory.repaired' && repaired.dropped).toHaveLength(2);
    expect((await sink.readInventory('app'))?.map(refKey)).toEqual(['/ConfigMap/app/a']);
  });

  it('a render over maxObjects is TOO_MANY_OBJECTS before any write', async () => {
    const sink = new MemorySink();
    const { reconciler } = setup(Array.from({ length: 11 }, (_, i) => cm(`c${i}`)), { maxObjects: 10 }, sink);
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('TOO_MANY_OBJECTS');
    expect(sink.writes).toBe(0);
  });
});

describe('the identity planned is the identity stored', () => {
  it('a namespaced object without a namespace goes to the default namespace, is not drift on the next pass, and is pruned when it leaves', async () => {
    const sink = new MemorySink({ defaultNamespace: 'team' });
    const { reconciler, set } = setup([cm('keep', null), cm('bare', null)], {}, sink);
    await reconciler.reconcile();
    expect(sink.objects().map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['team/bare', 'team/keep']);

    const again = await reconciler.reconcile();
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 2 });

    set([cm('keep', null)]);
    const pruned = await reconciler.reconcile();
    expect(pruned.counts.deleted).toBe(1);
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['keep']);
  });

  it("a renderer's default namespace (Helm's release namespace) wins over the sink's, and cluster-scoped kinds get none", async () => {
    const sink = new MemorySink();
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'release' } };
    const { reconciler } = setup([], { render: async () => [setDefaultNamespace(cm('cfg', null), 'release'), setDefaultNamespace(structuredClone(ns), 'release')] }, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'release', name: 'cfg' })).toBeDefined();
    expect(sink.getObject({ group: '', kind: 'Namespace', name: 'release' })?.metadata.namespace).toBeUndefined();
  });

  it('a cluster-scoped object that names a namespace is INVALID_OBJECT at its file and line', async () => {
    const role = setOrigin({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', namespace: 'app' } }, { file: 'rbac.yaml', line: 3 });
    const { reconciler } = setup([role]);
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('INVALID_OBJECT');
    expect(result.error?.message).toContain('rbac.yaml:3');
    expect(result.error?.message).toContain('cluster-scoped');
  });
});

describe('nothing is forgotten that was not seen deleted', () => {
  it('an inventory object missing from the live read stays recorded while its delete fails, and is pruned once it works', async () => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('a'), cm('b')], {}, sink);
    await reconciler.reconcile();
    const b: ObjectRef = { group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' };
    // b becomes invisible to get (as with a revoked `get` right) and leaves Git.
    const get = sink.get.bind(sink);
    sink.get = async (refs, o) => (await get(refs, o)).filter((obj) => obj.metadata.name !== 'b');
    sink.fail({ op: 'delete', ref: b, error: new SinkError('KUBE_FORBIDDEN', 'forbidden: may not get configmaps') });
    set([cm('a')]);

    const blocked = await reconciler.reconcile();
    expect(blocked.status).toBe('failed');
    expect(blocked.error?.code).toBe('KUBE_FORBIDDEN');
    expect((await sink.readInventory('app'))?.map((r) => r.name).sort()).toEqual(['a', 'b']);

    const retried = await reconciler.reconcile();
    expect(retried.status).toBe('succeeded');
    expect(sink.getObject(b)).toBeUndefined();
    expect((await sink.readInventory('app'))?.map((r) => r.name)).toEqual(['a']);
  });

  it('with prune off, an unseen inventory object stays recorded', async () => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('a'), cm('b')], { prune: false }, sink);
    await reconciler.reconcile();
    sink.remove({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' });
    set([cm('a')]);
    await reconciler.reconcile();
    expect((await sink.readInventory('app'))?.map((r) => r.name).sort()).toEqual(['a', 'b']);
  });
});

describe('ownership under concurrency', () => {
  it('two reconcilers creating the same object at once end with one owner and a conflict in the same pass', async () => {
    const store = new MemorySink();
    const shared = cm('shared');
    const b = createReconciler({ name: 'b', source: scene([]).source, render: async () => [structuredClone(shared)], sink: store });
    // a reads live state, then b creates the object before a applies it.
    const raced: Sink = {
      ...store,
      id: store.id,
      get: async (refs, o) => {
        const live = await store.get(refs, o);
        await b.reconcile();
        return live;
      },
      readInventory: (...args) => store.readInventory(...args),
      writeInventory: (...args) => store.writeInventory(...args),
      apply: (...args) => store.apply(...args),
      delete: (...args) => store.delete(...args),
      scopeOf: (...args) => store.scopeOf(...args),
    };
    const a = createReconciler({ name: 'a', source: scene([]).source, render: async () => [structuredClone(shared)], sink: raced });

    const result = await a.reconcile();

    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('OWNERSHIP_CONFLICT');
    expect(store.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'shared' })?.metadata.annotations?.[OWNER_ANNOTATION]).toBe('b');
    // a never recorded an object it does not own, so it can never prune it.
    expect((await store.readInventory('a'))?.map(refKey) ?? []).not.toContain('/ConfigMap/app/shared');
  });

  it('an object claimed by another reconciler after it was read is not pruned', async () => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('a'), cm('b')], {}, sink);
    await reconciler.reconcile();
    set([cm('a')]);
    const b = sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' })!;
    const get = sink.get.bind(sink);
    sink.get = async (refs, o) => {
      const live = await get(refs, o);
      sink.set({ ...b, metadata: { ...b.metadata, annotations: { [OWNER_ANNOTATION]: 'other' } } });
      return live;
    };
    const result = await reconciler.reconcile();
    expect(result.status).toBe('succeeded');
    expect(result.counts.deleted).toBe(0);
    expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' })).toBeDefined();
    expect((await sink.readInventory('app'))?.map((r) => r.name)).toEqual(['a']);
  });
});

describe('prune budget', () => {
  it('a pass that would delete most of the inventory stops before writing and asks; approval lets that revision through', async () => {
    const sink = new MemorySink();
    const all = Array.from({ length: 30 }, (_, i) => cm(`c${i}`));
    const { reconciler, set, events } = setup(all, {}, sink);
    await reconciler.reconcile();
    const writes = sink.writes;
    set(all.slice(0, 5));

    const blocked = await reconciler.reconcile();
    expect(blocked.error?.code).toBe('PRUNE_BUDGET_EXCEEDED');
    expect(blocked.error?.data).toMatchObject({ wouldDelete: 25, inventory: 30, allowed: 15 });
    expect(events.some((e) => e.type === 'prune.blocked')).toBe(true);
    expect(sink.writes).toBe(writes);
    expect(sink.objects()).toHaveLength(30);

    reconciler.approvePrune();
    const approved = await reconciler.reconcile();
    expect(approved.counts.deleted).toBe(25);
    expect(sink.objects()).toHaveLength(5);
  });

  it('reconcile({ approvePrune: true }) approves one pass; small prunes are always within budget', async () => {
    const all = Array.from({ length: 25 }, (_, i) => cm(`c${i}`));
    const { reconciler, set, sink } = setup(all);
    await reconciler.reconcile();
    set(all.slice(0, 3));
    expect((await reconciler.reconcile()).error?.code).toBe('PRUNE_BUDGET_EXCEEDED');
    expect((await reconciler.reconcile({ approvePrune: true })).counts.deleted).toBe(22);
    set(all.slice(0, 1));
    expect((await reconciler.reconcile()).counts.deleted).toBe(2);
    expect((sink as MemorySink).objects()).toHaveLength(1);
  });
});

describe('namespace deletion', () => {
  const ns = (annotations?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app', ...(annotations && { annotations }) } });

  it('is refused while the namespace holds objects this pass does not delete, listing them; nothing is written', async () => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([ns(), cm('ours')], {}, sink);
    await reconciler.reconcile();
    sink.set(cm('by-hand'));
    sink.set({ ...cm('kept'), metadata: { name: 'kept', namespace: 'app', annotations: { [PRUNE_ANNOTATION]: 'disabled' } } });
    sink.set({ ...cm('theirs'), metadata: { name: 'theirs', namespace: 'app', annotations: { [OWNER_ANNOTATION]: 'other' } } });
    sink.set({ ...cm('kube-root-ca.crt'), metadata: { name: 'kube-root-ca.crt', namespace: 'app' } });
    const writes = sink.writes;
    set([cm('elsewhere', 'other-ns')]);

    const result = await reconciler.reconcile({ approvePrune: true });

    expect(result.error?.code).toBe('NAMESPACE_NOT_EMPTY');
    const blockers = (result.error?.data['namespaces'] as { blockers: ObjectRef[] }[])[0]!.blockers.map(formatRef).sort();
    expect(blockers).toEqual(['ConfigMap app/by-hand', 'ConfigMap app/kept', 'ConfigMap app/theirs']);
    expect(sink.writes).toBe(writes);
    expect(sink.getObject({ group: '', kind: 'Namespace', name: 'app' })).toBeDefined();
  });

  it('goes ahead when the namespace holds only what this pass deletes, or is annotated to allow it', async () => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([ns(), cm('ours')], {}, sink);
    await reconciler.reconcile();
    set([cm('elsewhere', 'other-ns')]);
    expect((await reconciler.reconcile({ approvePrune: true })).status).toBe('succeeded');
    expect(sink.getObject({ group: '', kind: 'Namespace', name: 'app' })).toBeUndefined();

    set([ns(), cm('ours'), cm('elsewhere', 'other-ns')]);
    await reconciler.reconcile();
    sink.set(cm('by-hand'));
    const live = sink.getObject({ group: '', kind: 'Namespace', name: 'app' })!;
    sink.set({ ...live, metadata: { ...live.metadata, annotations: { ...live.metadata.annotations, [NAMESPACE_DELETE_ANNOTATION]: 'true' } } });
    set([cm('elsewhere', 'other-ns')]);
    expect((await reconciler.reconcile({ approvePrune: true })).status).toBe('succeeded');
  });
});

describe('deadlines', () => {
  it('a pass stuck on a source that never answers fails with PASS_TIMEOUT, and a trigger made meanwhile runs next', async () => {
    const clock = new FakeClock(0);
    let hang = true;
    const source: Source = {
      id: 'hanging',
      latestRevision: () => (hang ? new Promise(() => undefined) : Promise.resolve('r1')),
      fetch: async (r) => ({ source: 'hanging', revision: r ?? 'r1', files: memoryFileTree({}) }),
    };
    const events: ReconcileEvent[] = [];
    const r = createReconciler({ name: 'stuck', source, render: async () => [cm('a')], sink: new MemorySink(), clock, passTimeoutMs: 5_000, jitter: 0 });
    r.on('*', (e) => events.push(e));
    r.start();
    await clock.flush();
    expect(r.status().phase).toBe('reconciling');
    r.trigger('webhook');
    hang = false;
    await clock.advance(5_000);
    const failed = events.find((e) => e.type === 'pass.failed');
    expect(failed?.type === 'pass.failed' && failed.error.code).toBe('PASS_TIMEOUT');
    expect(failed?.type === 'pass.failed' && failed.error.retryable).toBe(true);
    await clock.flush();
    expect(events.filter((e) => e.type === 'pass.started').map((e) => e.type === 'pass.started' && e.reason)).toEqual(['start', 'webhook']);
    expect(events.some((e) => e.type === 'pass.succeeded')).toBe(true);
    await r.stop();
  });

  it('reconcile({ signal }) cancels one pass with ABORTED', async () => {
    const controller = new AbortController();
    const source: Source = {
      id: 's',
      latestRevision: ({ signal } = {}) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
      fetch: async () => ({ source: 's', revision: 'r', files: memoryFileTree({}) }),
    };
    const r = createReconciler({ name: 'x', source, render: async () => [], sink: new MemorySink() });
    const pending = r.reconcile({ signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    expect((await pending).error?.code).toBe('ABORTED');
  });
});

describe('Secret values never leave masked', () => {
  const marker = 'hunter2-s3cr3t-marker';
  const secret = (data: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'app' }, ...data });

  it('a non-string Secret value is INVALID_OBJECT without the value in the error', async () => {
    const { reconciler } = setup([secret({ data: { password: 918273645 } })]);
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('INVALID_OBJECT');
    expect(inspect(result, { depth: null })).not.toContain('918273645');
  });

  it('a sink error that quotes a Secret value (as server messages do) is scrubbed from the result, its cause chain and events', async () => {
    const sink = new MemorySink();
    const base64 = Buffer.from(marker).toString('base64');
    const echo = new SinkError('KUBE_INVALID', `Secret app/creds is invalid: data.password: Invalid value: "${base64}" (${marker})`, {
      cause: new Error(`server said ${marker}`),
      data: { body: { message: marker } },
    });
    sink.fail({ op: 'apply', error: echo });
    const { reconciler, events } = setup([secret({ stringData: { password: marker } }), secret({ data: { token: base64 } })].slice(0, 1), {}, sink);
    const result = await reconciler.reconcile();
    expect(result.status).toBe('failed');
    const printed = inspect({ result, events, status: reconciler.status() }, { depth: null }) + JSON.stringify(result.error?.data);
    expect(printed).not.toContain(marker);
    expect(printed).not.toContain(base64);
    expect(printed).toContain('masked');
  });
});
