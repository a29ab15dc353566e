import { afterEach, describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import type { ReconcileEvent } from '../../src/events.js';
import type { KubeObject } from '../../src/object.js';
import { createReconciler } from '../../src/reconciler.js';
import type { Gate } from '../../src/gate.js';
import { RenderError } from '../../src/errors.js';
import type { Renderer } from '../../src/renderer.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { yamlFiles } from '../../src/yaml-files.js';
import { configMap, fixtureRepo, namespace } from './fixture-repo.js';

const repos: { dispose(): void }[] = [];
afterEach(() => repos.splice(0).forEach((r) => r.dispose()));

function setup(files: Record<string, string>, extra: Partial<Parameters<typeof createReconciler>[0]> = {}) {
  const repo = fixtureRepo(files);
  repos.push(repo);
  const sink = new MemorySink();
  const reconciler = createReconciler({ name: 'demo', source: directorySource(repo.root), render: yamlFiles(), sink, prune: true, ...extra });
  const events: ReconcileEvent[] = [];
  reconciler.on('*', (e) => events.push(e));
  return { repo, sink, reconciler, events };
}

const names = (sink: MemorySink) => sink.objects().map((o) => `${o.kind}/${o.metadata.name}`);
const valueOf = (sink: MemorySink, name: string) =>
  (sink.objects().find((o) => o.metadata.name === name) as KubeObject & { data: { value: string } }).data.value;

describe('reconcile()', () => {
  it('creates, updates and prunes as the folder changes', async () => {
    const { repo, sink, reconciler } = setup({ 'ns.yaml': namespace, 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') });

    const first = await reconciler.reconcile();
    expect(first).toMatchObject({ status: 'succeeded', counts: { created: 3, updated: 0, deleted: 0 } });
    expect(names(sink)).toEqual(['ConfigMap/a', 'ConfigMap/b', 'Namespace/demo']);

    repo.write('a.yaml', configMap('a', '2'));
    repo.remove('b.yaml');
    const second = await reconciler.reconcile();
    expect(second).toMatchObject({ status: 'succeeded', counts: { created: 0, updated: 1, deleted: 1, unchanged: 1 } });
    expect(names(sink)).toEqual(['ConfigMap/a', 'Namespace/demo']);
    expect(valueOf(sink, 'a')).toBe('2');
    expect(reconciler.status()).toMatchObject({ lastAppliedRevision: second.revision, managedObjects: 2 });
  });

  it('makes no writes on a pass where nothing changed', async () => {
    const { sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') });
    await reconciler.reconcile();
    const writes = sink.writes;
    const again = await reconciler.reconcile();
    expect(again.counts).toEqual({ created: 0, updated: 0, deleted: 0, unchanged: 1 });
    expect(sink.writes).toBe(writes);
  });

  it('reverts drift on the next pass and counts it', async () => {
    const { sink, reconciler, events } = setup({ 'a.yaml': configMap('a', '1') });
    await reconciler.reconcile();
    const live = sink.objects()[0]!;
    sink.set({ ...live, data: { value: 'edited by hand' } });
    const result = await reconciler.reconcile();
    expect(result).toMatchObject({ status: 'succeeded', driftCorrected: 1, counts: { updated: 1 } });
    expect(valueOf(sink, 'a')).toBe('1');
    expect(events.some((e) => e.type === 'drift.detected' && e.via === 'plan')).toBe(true);
  });

  it('forces field ownership by default', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') });
    await reconciler.reconcile();
    repo.write('a.yaml', configMap('a', '2'));
    await reconciler.reconcile();
    expect(sink.calls.filter((c) => c.op === 'apply').map((c) => c.force)).toEqual([true, true]);
  });

  it('with forceConflicts: false, forces only when reverting drift, not for a new revision', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') }, { forceConflicts: false });
    await reconciler.reconcile();
    repo.write('a.yaml', configMap('a', '2'));
    await reconciler.reconcile();
    sink.set({ ...sink.objects()[0]!, data: { value: 'hand edit' } });
    await reconciler.reconcile();
    // The drift is confirmed by a dry run first (forced, as the correction will be), then applied with force.
    expect(sink.calls.filter((c) => c.op === 'apply' && !c.dryRun).map((c) => c.force)).toEqual([false, false, true]);
    expect(sink.calls.filter((c) => c.op === 'apply' && c.dryRun)).toHaveLength(1);
  });

  it('a failed render leaves objects, inventory and last revision intact', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') });
    const good = await reconciler.reconcile();
    const before = sink.objects();
    repo.remove('b.yaml');
    repo.write('a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n data: [broken\n');
    const bad = await reconciler.reconcile();
    expect(bad.status).toBe('failed');
    expect(bad.error?.code).toBe('YAML_SYNTAX');
    expect(bad.error?.data.position).toMatchObject({ file: 'a.yaml' });
    expect(sink.objects()).toEqual(before);
    expect(await sink.readInventory('demo')).toHaveLength(2);
    expect(reconciler.status()).toMatchObject({ lastAppliedRevision: good.revision, lastError: bad.error, consecutiveFailures: 1 });
  });

  it('never prunes when one apply fails, and records the failing object', async () => {
    const { repo, sink, reconciler, events } = setup({ 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') });
    await reconciler.reconcile();
    repo.remove('b.yaml');
    repo.write('a.yaml', configMap('a', '2'));
    repo.write('c.yaml', configMap('c', '1'));
    sink.fail({ op: 'apply', ref: { group: '', kind: 'ConfigMap', namespace: 'demo', name: 'c' } });
    const result = await reconciler.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error?.data.ref).toMatchObject({ name: 'c' });
    expect(names(sink)).toContain('ConfigMap/b');
    expect(events.filter((e) => e.type === 'object.failed')).toHaveLength(1);
    // The inventory still covers b (not pruned yet) and c (being introduced).
    expect((await sink.readInventory('demo'))!.map((r) => r.name).sort()).toEqual(['a', 'b', 'c']);
    // The next pass recovers and prunes.
    const next = await reconciler.reconcile();
    expect(next).toMatchObject({ status: 'succeeded', counts: { created: 1, deleted: 1 } });
    expect(names(sink)).toEqual(['ConfigMap/a', 'ConfigMap/c']);
  });

  it('refuses an empty desired state unless allowEmpty', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') });
    await reconciler.reconcile();
    repo.remove('a.yaml');
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('EMPTY_DESIRED_STATE');
    expect(names(sink)).toEqual(['ConfigMap/a']);
  });

  it('prunes everything on an empty desired state with allowEmpty', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') }, { allowEmpty: true });
    await reconciler.reconcile();
    repo.remove('a.yaml');
    expect((await reconciler.reconcile()).counts.deleted).toBe(1);
    expect(sink.objects()).toEqual([]);
  });

  it('does not prune without prune: true but keeps the object in the inventory', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') }, { prune: false });
    await reconciler.reconcile();
    repo.remove('b.yaml');
    await reconciler.reconcile();
    expect(names(sink)).toEqual(['ConfigMap/a', 'ConfigMap/b']);
    expect((await sink.readInventory('demo'))!.map((r) => r.name).sort()).toEqual(['a', 'b']);
  });

  it('dry run plans and validates but persists nothing', async () => {
    const { sink, reconciler, events } = setup({ 'a.yaml': configMap('a', '1') }, { dryRun: true });
    const result = await reconciler.reconcile();
    expect(result).toMatchObject({ status: 'succeeded', dryRun: true, counts: { created: 1 } });
    expect(sink.objects()).toEqual([]);
    expect(sink.writes).toBe(0);
    expect(events.find((e) => e.type === 'object.applied')).toMatchObject({ dryRun: true });
  });

  it('a blocking gate stops the pass before anything is applied', async () => {
    const gate: Gate = { name: 'images', check: async () => ({ ok: false, message: 'registry.example/app:1.2 not pushed yet' }) };
    const { sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') }, { gates: [gate] });
    const result = await reconciler.reconcile();
    expect(result.error).toMatchObject({ code: 'GATE_BLOCKED', retryable: true });
    expect(sink.calls.filter((c) => c.op === 'apply')).toEqual([]);
  });

  it('reads the inventory while the revision renders, so the read waits on the network during the parse', async () => {
    let asked!: () => void;
    const inventoryAsked = new Promise<void>((resolve) => (asked = resolve));
    let readDuringRender = false;
    const render: Renderer = async (input) => {
      readDuringRender = await Promise.race([inventoryAsked.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 2000))]);
      return yamlFiles()(input);
    };
    const { sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') }, { render });
    const readInventory = sink.readInventory.bind(sink);
    sink.readInventory = (owner, options) => (asked(), readInventory(owner, options));
    expect(await reconciler.reconcile()).toMatchObject({ status: 'succeeded', counts: { created: 1 } });
    expect(readDuringRender).toBe(true);
  });

  it('a render that fails ends the inventory read it overlapped, and fails with its own error', async () => {
    let readAborted = false;
    const render: Renderer = async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new RenderError('broken chart');
    };
    const { sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') }, { render });
    sink.readInventory = (_owner, options) =>
      new Promise((_resolve, reject) =>
        options?.signal?.addEventListener('abort', () => {
          readAborted = true;
          reject(options.signal?.reason);
        }),
      );
    const result = await reconciler.reconcile();
    expect(result.error).toMatchObject({ code: 'RENDER_FAILED' });
    expect(readAborted).toBe(true);
  });

  it('an inventory read that fails during the render fails the pass once the render is done', async () => {
    const render: Renderer = async (input) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return yamlFiles()(input);
    };
    const { sink, reconciler, events } = setup({ 'a.yaml': configMap('a', '1') }, { render });
    sink.fail({ op: 'readInventory' });
    const result = await reconciler.reconcile();
    expect(result.error).toMatchObject({ code: 'SIMULATED_FAULT' });
    expect(events.map((e) => e.type)).toContain('rendered');
    expect(sink.writes).toBe(0);
  });

  it('reports an object owned by another reconciler instead of taking it over', async () => {
    const { sink, reconciler } = setup({ 'a.yaml': configMap('a', '1') });
    sink.set({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'demo', annotations: { 'converge.dev/owner': 'team-b' } }, data: { value: 'theirs' } });
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('OWNERSHIP_CONFLICT');
    expect(valueOf(sink, 'a')).toBe('theirs');
  });

  it('emits events in pass order', async () => {
    const { reconciler, events } = setup({ 'ns.yaml': namespace, 'a.yaml': configMap('a', '1') });
    await reconciler.reconcile();
    expect(events.map((e) => e.type)).toEqual([
      'pass.started',
      'revision.checked',
      'rendered',
      'planned',
      'object.applied',
      'object.applied',
      'pass.succeeded',
    ]);
    expect(events.filter((e) => e.type === 'object.applied').map((e) => (e as { ref: { kind: string } }).ref.kind)).toEqual(['Namespace', 'ConfigMap']);
  });

  it('reuses the render while the revision is unchanged', async () => {
    const { reconciler, events } = setup({ 'a.yaml': configMap('a', '1') });
    await reconciler.reconcile();
    await reconciler.reconcile();
    expect(events.filter((e) => e.type === 'rendered').map((e) => (e as { reused: boolean }).reused)).toEqual([false, true]);
  });

  it('never puts Secret values in events or errors', async () => {
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: demo\nstringData:\n  password: hunter2-very-secret\n';
    const { sink, reconciler, events } = setup({ 's.yaml': secret });
    sink.fail({ op: 'apply' });
    const result = await reconciler.reconcile();
    expect(JSON.stringify(events)).not.toContain('hunter2');
    expect(JSON.stringify({ message: result.error?.message, data: result.error?.data })).not.toContain('hunter2');
  });

  it('preview() shows the plan of the next pass and writes nothing', async () => {
    const { repo, sink, reconciler } = setup({ 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') });
    await reconciler.reconcile();
    const writes = sink.writes;
    repo.write('a.yaml', configMap('a', '2'));
    repo.remove('b.yaml');
    const { plan } = await reconciler.preview();
    expect(plan.changes.map((c) => `${c.action} ${c.ref.name}`)).toEqual(['update a', 'delete b']);
    expect(sink.writes).toBe(writes);
    expect(valueOf(sink, 'a')).toBe('1');
  });
});
