import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../src/errors.js';
import type { ReconcileEvent } from '../../src/events.js';
import { refKey, type KubeObject, type ObjectRef } from '../../src/object.js';
import { hookOf, waveOf } from '../../src/phases.js';
import { createReconciler, type ReconcilerOptions } from '../../src/reconciler.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { memorySource } from '../../src/testing/memory-source.js';
import { yamlFiles } from '../../src/yaml-files.js';

const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

/** Plays the Job controller: completes (or fails) every Job the sink holds, as tests on a control plane do through the status subresource. */
function jobController(sink: MemorySink, outcome: (job: KubeObject) => 'Complete' | 'Failed' = () => 'Complete') {
  const timer = setInterval(() => {
    for (const obj of sink.objects()) {
      if (obj.kind !== 'Job' || (obj['status'] as { conditions?: unknown } | undefined)?.conditions) continue;
      sink.set({ ...obj, status: { conditions: [{ type: outcome(obj), status: 'True', reason: 'Test' }] } });
    }
  }, 2);
  stops.push(() => clearInterval(timer));
}

const cm = (name: string, annotations: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: app\n  annotations: ${JSON.stringify(annotations)}\ndata: {}\n---\n`;
const job = (meta: string, annotations: Record<string, string>) =>
  `apiVersion: batch/v1\nkind: Job\nmetadata:\n  ${meta}\n  namespace: app\n  annotations: ${JSON.stringify(annotations)}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{ name: m, image: "migrate:1" }]\n---\n`;

function setup(files: Record<string, string>, options: Partial<ReconcilerOptions> = {}) {
  const source = memorySource(files);
  const sink = new MemorySink();
  const events: ReconcileEvent[] = [];
  const applies: string[][] = [];
  const apply = sink.apply.bind(sink);
  sink.apply = async (objects, o) => {
    applies.push(objects.map((x) => x.metadata.name));
    return apply(objects, o);
  };
  const r = createReconciler({ name: 'app', source, render: yamlFiles(), sink, prune: true, wait: { timeoutMs: 5_000, pollIntervalMs: 5 }, ...options });
  r.on('*', (e) => events.push(e));
  return { source, sink, r, events, applies };
}

describe('waves and hooks from annotations', () => {
  it('reads waves from converge.dev, Argo CD and Helm annotations, and hooks with their delete policies', () => {
    const obj = (annotations: Record<string, string>): KubeObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', annotations } });
    expect(waveOf(obj({ 'argocd.argoproj.io/sync-wave': '-2' }))).toBe(-2);
    expect(waveOf(obj({ 'converge.dev/wave': '3', 'argocd.argoproj.io/sync-wave': '1' }))).toBe(3);
    expect(() => waveOf(obj({ 'converge.dev/wave': 'soon' }))).toThrow(/must be an integer/);
    expect(hookOf(obj({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '5', 'helm.sh/hook-delete-policy': 'hook-succeeded' }))).toEqual({
      phase: 'PreSync',
      weight: 5,
      deletePolicies: ['HookSucceeded'],
    });
    expect(hookOf(obj({ 'argocd.argoproj.io/hook': 'PostSync' }))).toEqual({ phase: 'PostSync', weight: 0, deletePolicies: ['BeforeHookCreation'] });
    expect(hookOf(obj({ 'helm.sh/hook': 'pre-delete' }))).toEqual({ unsupported: 'helm.sh/hook "pre-delete"' });
    expect(hookOf(obj({ 'helm.sh/hook': 'test' }))).toBeUndefined();
    expect(hookOf(obj({}))).toBeUndefined();
  });
});

describe('a pass in phases', () => {
  it('without wave annotations applies everything in one call, as before', async () => {
    const { r, applies } = setup({ 'a.yaml': cm('a') + cm('b') });
    expect((await r.reconcile()).status).toBe('succeeded');
    expect(applies).toEqual([['a', 'b']]);
  });

  it('applies waves in ascending order and waits for each to be healthy before the next', async () => {
    const { r, sink, applies, events } = setup({
      'a.yaml': cm('late', { 'argocd.argoproj.io/sync-wave': '1' }) + job('name: migrate', { 'converge.dev/wave': '0' }) + cm('first', { 'argocd.argoproj.io/sync-wave': '-1' }),
    });
    let completedBeforeLate = false;
    jobController(sink);
    const apply = sink.apply.bind(sink);
    sink.apply = async (objects, o) => {
      if (objects.some((x) => x.metadata.name === 'late')) {
        const migrate = sink.getObject({ group: 'batch', kind: 'Job', namespace: 'app', name: 'migrate' });
        completedBeforeLate = Boolean((migrate?.['status'] as { conditions?: unknown } | undefined)?.conditions);
      }
      return apply(objects, o);
    };
    expect((await r.reconcile()).status).toBe('succeeded');
    expect(applies).toEqual([['first'], ['migrate'], ['late']]);
    expect(completedBeforeLate).toBe(true);
    expect(events.filter((e) => e.type === 'phase.started').map((e) => e.type === 'phase.started' && e.wave)).toEqual([-1, 0, 1]);
  });

  it('runs PreSync and PostSync hooks once per revision, by weight, names generateName hooks per revision, keeps them out of the inventory and deletes them per policy', async () => {
    const files = {
      'app.yaml': cm('app'),
      'hooks.yaml':
        job('generateName: migrate-', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '1', 'helm.sh/hook-delete-policy': 'hook-succeeded' }) +
        job('name: schema', { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/sync-wave': '-1' }) +
        job('name: notify', { 'argocd.argoproj.io/hook': 'PostSync' }),
    };
    const { r, sink, applies, events } = setup(files);
    jobController(sink);
    const first = await r.reconcile();
    expect(first.error?.message ?? 'ok').toBe('ok');
    expect(applies[0]).toEqual(['schema']);
    expect(applies[1]?.[0]).toMatch(/^migrate-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(applies.slice(2)).toEqual([['app'], ['notify']]);
    const names = sink.objects().map((o) => o.metadata.name);
    expect(names).toContain('schema');
    expect(names).toContain('notify');
    expect(names.some((n) => n.startsWith('migrate-'))).toBe(false); // hook-succeeded
    expect((await sink.readInventory('app'))?.map(refKey)).toEqual(['/ConfigMap/app/app']);
    expect(events.filter((e) => e.type === 'hook.completed').map((e) => e.type === 'hook.completed' && `${e.phase}:${e.result}`)).toEqual([
      'PreSync:succeeded',
      'PreSync:succeeded',
      'PostSync:succeeded',
    ]);

    // Same revision (a drift pass): hooks do not run again.
    const before = applies.length;
    await r.reconcile();
    expect(applies.length).toBe(before);
  });

  it('a failed PreSync hook fails the pass with HOOK_FAILED naming it, applies and prunes nothing, and runs the SyncFail hooks', async () => {
    const files = {
      'app.yaml': cm('app') + cm('old'),
    };
    const { r, sink, source, events } = setup(files);
    jobController(sink, (j) => (j.metadata.name === 'migrate' ? 'Failed' : 'Complete'));
    await r.reconcile();
    source.replace({
      'app.yaml': cm('app'),
      'hooks.yaml': job('name: migrate', { 'converge.dev/hook': 'PreSync' }) + job('name: page-oncall', { 'converge.dev/hook': 'SyncFail' }),
    });
    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('HOOK_FAILED');
    expect(result.error?.message).toContain('PreSync hook Job app/migrate');
    expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'old' })).toBeDefined();
    expect(events.some((e) => e.type === 'hook.completed' && e.ref.name === 'page-oncall' && e.phase === 'SyncFail')).toBe(true);
  });

  it('a hook whose kind Converge does not run is reported and left out, not applied', async () => {
    const { r, sink, events } = setup({ 'a.yaml': cm('app') + job('name: cleanup', { 'helm.sh/hook': 'pre-delete' }) });
    expect((await r.reconcile()).status).toBe('succeeded');
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['app']);
    expect(events.find((e) => e.type === 'hook.skipped')).toMatchObject({ ref: { name: 'cleanup' }, reason: expect.stringContaining('pre-delete') });
  });
});

describe('immutable fields', () => {
  const immutable = (ref: ObjectRef) => new SinkError('IMMUTABLE_FIELD', 'spec.selector: field is immutable', { data: { ref, fields: ['spec.selector'] } });
  const ref: ObjectRef = { group: '', kind: 'ConfigMap', namespace: 'app', name: 'a' };

  it('fail with IMMUTABLE_FIELD unless the object opted in to be re-created', async () => {
    const { r, sink, source } = setup({ 'a.yaml': cm('a') });
    await r.reconcile();
    source.write('a.yaml', cm('a', { changed: 'yes' }));
    sink.fail({ op: 'apply', ref, error: immutable(ref) });
    const result = await r.reconcile();
    expect(result.error?.code).toBe('IMMUTABLE_FIELD');
  });

  it('with converge.dev/force: enabled, the object is deleted and created again', async () => {
    const { r, sink, source, events } = setup({ 'a.yaml': cm('a') });
    await r.reconcile();
    const uid = sink.getObject(ref)?.metadata['uid'];
    source.write('a.yaml', cm('a', { 'converge.dev/force': 'enabled' }));
    sink.fail({ op: 'apply', ref, error: immutable(ref) });
    const result = await r.reconcile();
    expect(result.status).toBe('succeeded');
    expect(events.find((e) => e.type === 'object.recreated')).toMatchObject({ ref, fields: ['spec.selector'] });
    expect(sink.getObject(ref)?.metadata['uid']).not.toBe(uid);
  });
});
