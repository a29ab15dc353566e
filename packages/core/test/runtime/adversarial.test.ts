import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OWNER_ANNOTATION } from '../../src/annotations.js';
import type { ReconcileEvent } from '../../src/events.js';
import { refKey, type KubeObject, type ObjectRef } from '../../src/object.js';
import { createReconciler, type Reconciler, type ReconcilerOptions } from '../../src/reconciler.js';
import { Semaphore } from '../../src/semaphore.js';
import type { Sink } from '../../src/sink.js';
import type { ReconcileResult } from '../../src/reconciler-status.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { scene } from './scene.js';


const cm = (name: string, namespace = 'app', data: Record<string, string> = { v: '1' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});

function setup(objects: unknown[], options: Partial<ReconcilerOptions> = {}, sink: Sink = new MemorySink()) {
  const s = scene(objects);
  const events: ReconcileEvent[] = [];
  const reconciler = createReconciler({ name: 'app', source: s.source, render: s.render, sink, prune: true, ...options });
  reconciler.on('*', (e) => events.push(e));
  return { ...s, sink, reconciler, events };
}

const keys = (refs: readonly ObjectRef[] | undefined) => (refs ?? []).map(refKey).sort();

describe('ATTACK odd shapes from renderers', () => {
  it('a metadata.name getter that answers a valid name while checked and a forged one afterwards never reaches the sink', async () => {
    const sink = new MemorySink();
    let reads = 0;
    const shifty = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        namespace: 'app',
        get name() {
          reads++;
          return reads <= 2 ? 'innocent' : 'x\n/Secret/kube-system/token';
        },
      },
      data: { v: '1' },
    };
    const { reconciler } = setup([cm('keep'), shifty], {}, sink);
    const result = await reconciler.reconcile();
    const names = sink.objects().map((o) => o.metadata.name);
    expect({ status: result.status, forgedApplied: names.includes('x\n/Secret/kube-system/token') }).toEqual({ status: expect.any(String), forgedApplied: false });
    expect(keys(await sink.readInventory('app')).every((k) => !k.includes('\n'))).toBe(true);
  });

  it('a name or namespace inherited from a prototype is either rejected or kept: the identity planned is the one checked', async () => {
    const sink = new MemorySink();
    const inherited = { apiVersion: 'v1', kind: 'ConfigMap', metadata: Object.create({ name: 'proto-name', namespace: 'kube-system' }) as object, data: { v: '1' } };
    const { reconciler } = setup([cm('keep'), inherited], {}, sink);
    const result = await reconciler.reconcile();
    const stored = sink.objects().map((o) => refKey({ group: '', kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace && { namespace: o.metadata.namespace }) }));
    expect(result.status === 'failed' || stored.includes('/ConfigMap/kube-system/proto-name')).toBe(true);
    expect(stored.some((k) => k.endsWith('/undefined'))).toBe(false);
  });

  it('a sparse array from a renderer is INVALID_OBJECT naming the hole, not a TypeError', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const { reconciler } = setup([cm('a'), , cm('b')]);
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('INVALID_OBJECT');
  });
});

describe('ATTACK deadlines with a sink that does not honour its signal', () => {
  /**
   * A MemorySink whose next apply waits until released, ignoring the signal (a stuck connection).
   * `stickNext()` resolves once that apply has begun.
   */
  function stuckSink() {
    const sink = new MemorySink();
    let release: (() => void) | undefined;
    let began: (() => void) | undefined;
    const apply = sink.apply.bind(sink);
    sink.apply = async (objects, options) => {
      if (began) {
        began();
        began = undefined;
        await new Promise<void>((r) => (release = r));
      }
      return apply(objects, options);
    };
    return { sink, stickNext: () => new Promise<void>((r) => (began = r)), release: () => release?.() };
  }

  /**
   * A pass whose apply sticks, cut by its deadline on the FakeClock once the apply has begun. (On
   * the real clock, with a 200 ms deadline, a pass that was meant to succeed could be cut too
   * when a loaded machine paused the test for 200 ms.)
   */
  async function timedOutPass(reconciler: Reconciler, clock: FakeClock, stickNext: () => Promise<void>): Promise<ReconcileResult> {
    const stuck = stickNext();
    const pass = reconciler.reconcile();
    await stuck;
    await clock.advance(200);
    return pass;
  }

  it('a pass cut by its deadline writes nothing after the next pass started (no stale inventory overwrite)', async () => {
    const { sink, stickNext, release } = stuckSink();
    const clock = new FakeClock(0);
    const { reconciler, set } = setup([cm('a')], { clock, passTimeoutMs: 200 }, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    set([cm('a', 'app', { v: '2' })]);
    const timedOut = await timedOutPass(reconciler, clock, stickNext);
    expect(timedOut.error?.code).toBe('PASS_TIMEOUT');
    set([cm('a', 'app', { v: '2' }), cm('b')]);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    expect(keys(await sink.readInventory('app'))).toEqual(['/ConfigMap/app/a', '/ConfigMap/app/b']);
    release();
    await new Promise((r) => setTimeout(r, 50));
    // The stale pass must not shrink the inventory back to what its revision declared.
    expect(keys(await sink.readInventory('app'))).toEqual(['/ConfigMap/app/a', '/ConfigMap/app/b']);
  });

  it('a pass cut by its deadline does not apply its older revision over the newer pass that ran meanwhile', async () => {
    const { sink, stickNext, release } = stuckSink();
    const clock = new FakeClock(0);
    const { reconciler, set } = setup([cm('a')], { clock, passTimeoutMs: 200 }, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    set([cm('a', 'app', { v: '2' })]);
    expect((await timedOutPass(reconciler, clock, stickNext)).error?.code).toBe('PASS_TIMEOUT');
    set([cm('a', 'app', { v: '3' })]);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'a' })?.data).toEqual({ v: '3' });
  });

  it('stop({ abort: true }) returns promptly even if the sink ignores the abort', async () => {
    const { sink, stickNext, release } = stuckSink();
    const clock = new FakeClock(0);
    const { reconciler, set } = setup([cm('a')], { clock, passTimeoutMs: 600_000 }, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    set([cm('a', 'app', { v: '2' })]);
    stickNext();
    reconciler.start();
    await clock.flush();
    await new Promise((r) => setTimeout(r, 20));
    const stopped = reconciler.stop({ abort: true }).then(() => 'stopped');
    const outcome = await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still waiting after 1 s'), 1000))]);
    release();
    await stopped;
    expect(outcome).toBe('stopped');
  });

  it.each([
    ['without passSlots', undefined],
    ['with passSlots', new Semaphore(2)],
  ])('stop({ abort: true }) also cancels the reconcile() calls queued behind the pass in flight (%s), instead of running them to their deadline', async (_, passSlots) => {
    const clock = new FakeClock(0);
    const { reconciler, source } = setup([cm('a')], { clock, ...(passSlots && { passSlots }) });
    // Every revision check answers only when its pass is aborted.
    source.latestRevision = ({ signal } = {}) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    const first = reconciler.reconcile();
    const second = reconciler.reconcile();
    await clock.flush();
    const stopped = reconciler.stop({ abort: true }).then(() => 'stopped');
    const outcome = await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still waiting after 300 ms'), 300))]);
    expect(outcome).toBe('stopped');
    expect((await first).status).toBe('failed');
    expect(await second).toMatchObject({ status: 'skipped' });
    if (passSlots) expect(passSlots.stats().held).toBe(0);
  });
});

describe('ATTACK prune approvals', () => {
  it.each([
    ['without passSlots', undefined],
    ['with passSlots', new Semaphore(1)],
  ])('an approval given to a pass that was skipped (suspended) does not approve a later, unrelated pass (%s)', async (_, passSlots) => {
    const objects = Array.from({ length: 30 }, (_, i) => cm(`o${i}`));
    const { reconciler, set, sink } = setup(objects, { ...(passSlots && { passSlots }) });
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    reconciler.suspend();
    expect((await reconciler.reconcile({ approvePrune: true })).status).toBe('skipped');
    reconciler.resume();
    await new Promise((r) => setTimeout(r, 20));
    // Later a bad revision would prune 29 of 30; nobody approved this one.
    set([cm('o0')]);
    const result = await reconciler.reconcile();
    expect({ status: result.status, code: result.error?.code, left: (sink as MemorySink).objects().length }).toEqual({ status: 'failed', code: 'PRUNE_BUDGET_EXCEEDED', left: 30 });
  });
});

describe('GUARD a failed pass never prunes and never forgets the last good state', () => {
  const faults: { op: 'readInventory' | 'get' | 'apply' | 'delete' | 'writeInventory'; ref?: ObjectRef }[] = [
    { op: 'readInventory' },
    { op: 'get' },
    { op: 'apply', ref: { group: '', kind: 'ConfigMap', namespace: 'app', name: 'c' } },
    { op: 'delete', ref: { group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' } },
    { op: 'writeInventory' },
  ];
  it.each(faults)('a fault in $op keeps b (which leaves Git) recorded, and nothing else is deleted', async (fault) => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('a'), cm('b')], {}, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    set([cm('a', 'app', { v: '2' }), cm('c')]);
    sink.fail({ op: fault.op, ...(fault.ref && { ref: fault.ref }), error: undefined as never });
    const failed = await reconciler.reconcile();
    expect(failed.status).toBe('failed');
    expect(keys(await sink.readInventory('app'))).toEqual(expect.arrayContaining(['/ConfigMap/app/a', '/ConfigMap/app/b']));
    if (fault.op !== 'delete') expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' })).toBeDefined();
    expect(reconciler.status().lastAppliedRevision).toBe('r1');
    // Once the fault is gone, the next pass finishes the job.
    const healed = await reconciler.reconcile();
    expect(healed.status).toBe('succeeded');
    expect(keys(await sink.readInventory('app'))).toEqual(['/ConfigMap/app/a', '/ConfigMap/app/c']);
    expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'app', name: 'b' })).toBeUndefined();
  });
});

describe('GUARD identities with separators, look-alikes and odd shapes are refused before any write', () => {
  const odd: { name: string; obj: unknown }[] = [
    { name: 'kind with a slash', obj: { ...cm('a'), kind: 'Secret/x' } },
    { name: 'kind with a newline', obj: { ...cm('a'), kind: 'ConfigMap\nSecret' } },
    { name: 'apiVersion with three parts', obj: { ...cm('a'), apiVersion: 'apps/v1/x' } },
    { name: 'apiVersion with a trailing slash', obj: { ...cm('a'), apiVersion: 'v1/' } },
    { name: 'apiVersion with an upper-case group', obj: { ...cm('a'), apiVersion: 'Apps/v1' } },
    { name: 'name ".."', obj: cm('..') },
    { name: 'name with a percent', obj: cm('a%2Fb') },
    { name: 'name with a Cyrillic look-alike', obj: cm('\u0430pp') },
    { name: 'name with a zero-width space', obj: cm('a\u200bb') },
    { name: 'name of 254 characters', obj: cm('a'.repeat(254)) },
    { name: 'namespace with a dot', obj: cm('a', 'kube-system.x') },
    { name: 'namespace ".."', obj: cm('a', '..') },
    { name: 'namespace of 64 characters', obj: cm('a', 'n'.repeat(64)) },
    { name: 'namespace as a number', obj: { ...cm('a'), metadata: { name: 'a', namespace: 7 } } },
    { name: 'name as an array', obj: { ...cm('a'), metadata: { name: ['a'] } } },
    { name: 'metadata as an array', obj: { ...cm('a'), metadata: [{ name: 'a' }] } },
    { name: 'metadata null', obj: { ...cm('a'), metadata: null } },
    { name: 'an array instead of an object', obj: [cm('a')] },
    { name: 'null', obj: null },
    { name: 'a __proto__ key from JSON', obj: JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"__proto__":{"name":"victim","namespace":"kube-system"}}}') },
    { name: 'a Secret with a non-string stringData value', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'app' }, stringData: { k: { nested: 'hunter2hunter2' } } } },
  ];
  it.each(odd)('$name', async ({ obj }) => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('keep')], {}, sink);
    await reconciler.reconcile();
    const writes = sink.writes;
    set([cm('keep'), obj]);
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('INVALID_OBJECT');
    expect(sink.writes).toBe(writes);
    expect(inspect(result, { depth: null })).not.toContain('hunter2hunter2');
    expect(({} as Record<string, unknown>)['name']).toBeUndefined();
  });
});

describe('GUARD prune budget and namespace guard', () => {
  it('deleting many Namespaces at once (each holding a hand-made object) is refused for all of them, and nothing is written', async () => {
    const nsObj = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const names = Array.from({ length: 5 }, (_, i) => `team-${i}`);
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('keep'), ...names.map(nsObj)], {}, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    for (const n of names) sink.set(cm('by-hand', n));
    const writes = sink.writes;
    set([cm('keep')]);
    const result = await reconciler.reconcile({ approvePrune: true });
    expect(result.error?.code).toBe('NAMESPACE_NOT_EMPTY');
    for (const n of names) expect(result.error?.message).toContain(`ConfigMap ${n}/by-hand`);
    expect(sink.writes).toBe(writes);
  });

  it('a Namespace holding an object owned by another reconciler or marked prune-disabled is not deleted with its contents', async () => {
    const sink = new MemorySink();
    const { reconciler, set } = setup([cm('keep'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } }, cm('ours', 'shared')], {}, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    sink.set({ ...cm('theirs', 'shared'), metadata: { name: 'theirs', namespace: 'shared', annotations: { [OWNER_ANNOTATION]: 'other' } } });
    set([cm('keep')]);
    const result = await reconciler.reconcile({ approvePrune: true });
    expect(result.error?.code).toBe('NAMESPACE_NOT_EMPTY');
    expect(result.error?.message).toContain('ConfigMap shared/theirs');
    expect(sink.getObject({ group: '', kind: 'ConfigMap', namespace: 'shared', name: 'ours' })).toBeDefined();
  });

  it('a budget-exceeding prune is refused by every pass reason (interval, trigger, drift) until approved', async () => {
    const clock = new FakeClock(0);
    const objects = Array.from({ length: 30 }, (_, i) => cm(`o${i}`));
    const sink = new MemorySink();
    const { reconciler, set, events } = setup(objects, { clock, intervalMs: 1000, jitter: 0 }, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    set([cm('o0')]);
    reconciler.start();
    await clock.flush();
    reconciler.trigger('webhook');
    await clock.advance(5000);
    await reconciler.stop();
    expect(events.filter((e) => e.type === 'prune.blocked').length).toBeGreaterThan(1);
    expect(sink.objects()).toHaveLength(30);
  });
});

describe('GUARD Secret values never leave masked', () => {
  const marker = 'hunter2-adversarial-value';
  it('values from stringData, invalid-base64 data and the last-applied annotation, echoed by a sink error and its causes, are masked everywhere', async () => {
    const sink = new MemorySink();
    const invalidBase64 = `${marker}!!not*base64`;
    const b64 = Buffer.from(marker).toString('base64');
    const { SinkError } = await import('../../src/errors.js');
    const inner = new Error(`socket said ${invalidBase64}`);
    const echo = new SinkError('KUBE_INVALID', `Secret app/creds: data.bad: Invalid value: "${invalidBase64}"; stringData.pw=${marker}; ${b64}; ${JSON.stringify(marker + '\n')}`, {
      cause: Object.assign(new Error(`wrapped ${b64}`), { cause: inner }),
      data: { body: { nested: [{ deep: { deeper: marker } }] }, echoed: JSON.stringify({ pw: marker }) },
    });
    sink.fail({ op: 'apply', error: echo });
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: 'app', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { pw: marker } }) } },
      stringData: { pw: marker, multi: `${marker}\n` },
      data: { bad: invalidBase64 },
    };
    const { reconciler, events } = setup([secret], {}, sink);
    const result = await reconciler.reconcile();
    expect(result.status).toBe('failed');
    const printed = inspect({ result, events, status: reconciler.status() }, { depth: null }) + JSON.stringify(result.error?.data) + JSON.stringify(events) + String(result.error?.stack);
    expect(printed).not.toContain(marker);
    expect(printed).not.toContain(b64);
    expect(printed).not.toContain('not*base64');
  });
});

describe('ATTACK Secret values in less common error shapes', () => {
  const marker = 'hunter2-aggregate-value';
  const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'app' }, stringData: { pw: marker } };

  it('a sink error whose cause is a native AggregateError quoting a value is masked in its errors too', async () => {
    const sink = new MemorySink();
    const { SinkError } = await import('../../src/errors.js');
    sink.fail({ op: 'apply', error: new SinkError('KUBE_API_ERROR', 'request failed', { cause: new AggregateError([new Error(`echo ${marker}`)], 'all attempts failed') }) });
    const { reconciler, events } = setup([secret], {}, sink);
    const result = await reconciler.reconcile();
    expect(result.status).toBe('failed');
    expect(inspect({ result, events }, { depth: null })).not.toContain(marker);
  });

  it('preview() masks Secret values in the errors it throws, as reconcile() does', async () => {
    const gate = { name: 'policy', check: async (objects: readonly KubeObject[]) => ({ ok: false as const, message: `refused: ${JSON.stringify(objects.map((o) => o['stringData']))}` }) };
    const { reconciler } = setup([secret], { gates: [gate] });
    const viaReconcile = await reconciler.reconcile();
    expect(inspect(viaReconcile, { depth: null })).not.toContain(marker);
    const viaPreview = await reconciler.preview().catch((e: unknown) => e);
    expect(inspect(viaPreview, { depth: null })).not.toContain(marker);
  });
});
