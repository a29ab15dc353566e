import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OWNER_ANNOTATION } from '../../src/annotations.js';
import type { ReconcileEvent } from '../../src/events.js';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import { refKey, type KubeObject, type ObjectRef } from '../../src/object.js';
import { createReconciler, type ReconcilerOptions } from '../../src/reconciler.js';
import type { Sink } from '../../src/sink.js';
import type { Source } from '../../src/source.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';

function scene(initial: unknown[]) {
  let objects = initial;
  let revision = 1;
  const source: Source = {
    id: 'scene',
    latestRevision: async () => `r${revision}`,
    fetch: async (r) => ({ source: 'scene', revision: r ?? `r${revision}`, files: memoryFileTree({}) }),
  };
  return {
    source,
    render: async () => [...objects] as KubeObject[],
    set(next: unknown[]) {
      objects = next;
      revision++;
    },
  };
}

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
    sink.fail({ op: fault.op, ...(fault.ref && { ref: fault.ref }) });
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

  it('a Namespace holding an object owned by another reconciler is not deleted with its contents', async () => {
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
    const { reconciler, set, events } = setup(objects, { clock, interval: 1000, jitter: 0 }, sink);
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


describe('GUARD odd renderer output and stuck sinks', () => {
  it('holes in a rendered array are INVALID_OBJECT, not a TypeError', async () => {
    const { reconciler } = setup([cm('a'), undefined, cm('b')]);
    const result = await reconciler.reconcile();
    expect(result.error?.code).toBe('INVALID_OBJECT');
  });

  it('a pass cut by its deadline whose sink finishes late does not shrink the inventory the next pass wrote', async () => {
    const sink = new MemorySink();
    let release: (() => void) | undefined;
    let stuck = false;
    const apply = sink.apply.bind(sink);
    sink.apply = async (objects, options) => {
      if (stuck) {
        stuck = false;
        await new Promise<void>((r) => (release = r));
      }
      return apply(objects, options);
    };
    const { reconciler, set } = setup([cm('a')], { passTimeoutMs: 200 }, sink);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    set([cm('a', 'app', { v: '2' })]);
    stuck = true;
    expect((await reconciler.reconcile()).error?.code).toBe('PASS_TIMEOUT');
    set([cm('a', 'app', { v: '2' }), cm('b')]);
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    release?.();
    await new Promise((r) => setTimeout(r, 50));
    expect(keys(await sink.readInventory('app'))).toEqual(['/ConfigMap/app/a', '/ConfigMap/app/b']);
  });
});
