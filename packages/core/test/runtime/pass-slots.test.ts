import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconciler.js';
import { Semaphore } from '../../src/semaphore.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { memorySource } from '../../src/testing/memory-source.js';
import { yamlFiles } from '../../src/yaml-files.js';

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: default }\ndata: { v: "1" }\n';

/** A reconciler sharing `slots`, on a fake clock, with its events. */
function queuedReconciler(slots: Semaphore, clock = new FakeClock()) {
  const reconciler = createReconciler({ name: 'r', source: memorySource({ 'a.yaml': configMap }), render: yamlFiles(), sink: new MemorySink(), clock, jitter: 0, passSlots: slots });
  const events: string[] = [];
  reconciler.on('*', (e) => {
    if (e.type === 'pass.started' || e.type === 'pass.skipped') events.push(`${e.type} ${e.reason}`);
    else if (e.type === 'pass.succeeded' || e.type === 'suspended') events.push(e.type);
  });
  return { reconciler, clock, events };
}

describe('a reconciler with passSlots', () => {
  it('waits in phase queued while the slots are taken; a trigger then joins the queued pass instead of adding one', async () => {
    const slots = new Semaphore(1);
    const taken = await slots.acquire();
    const { reconciler, clock, events } = queuedReconciler(slots);
    reconciler.start();
    await clock.flush();
    expect(reconciler.status().phase).toBe('queued');
    reconciler.trigger('webhook');
    await clock.flush();
    expect(events).toEqual([]);
    taken();
    await clock.flush();
    expect(events).toEqual(['pass.started start', 'pass.succeeded']);
    expect(reconciler.status().phase).toBe('idle');
    expect(slots.stats()).toEqual({ held: 0, waiting: 0, max: 1 });
    await reconciler.stop();
  });

  it('reconcile() whose signal aborts while queued fails with ABORTED and never runs; the slot queue forgets it', async () => {
    const slots = new Semaphore(1);
    const taken = await slots.acquire();
    const { reconciler, events } = queuedReconciler(slots);
    const abort = new AbortController();
    const result = reconciler.reconcile({ signal: abort.signal });
    await new Promise((r) => setImmediate(r));
    expect(slots.stats().waiting).toBe(1);
    abort.abort(new DOMException('the caller gave up', 'AbortError'));
    expect(await result).toMatchObject({ status: 'failed', error: { code: 'ABORTED' } });
    expect(events).toEqual([]);
    expect(slots.stats()).toEqual({ held: 1, waiting: 0, max: 1 });
    expect(reconciler.status().phase).toBe('stopped');
    taken();
  });

  it('a suspended reconciler does not queue: reconcile() is skipped at once', async () => {
    const slots = new Semaphore(1);
    const taken = await slots.acquire();
    const { reconciler, events } = queuedReconciler(slots);
    reconciler.suspend();
    expect(await reconciler.reconcile()).toMatchObject({ status: 'skipped' });
    expect(events).toEqual(['suspended', 'pass.skipped suspended']);
    expect(slots.stats().waiting).toBe(0);
    taken();
  });
});

describe('a queued pass at the edge of its grant', () => {
  it('stop({ abort }) in the same tick as the slot is granted: the pass does not start, stop() resolves and the slot is given back', async () => {
    const slots = new Semaphore(1);
    const taken = await slots.acquire();
    const clock = new FakeClock();
    const source = memorySource({ 'a.yaml': configMap });
    // A source that answers only when its pass is aborted: a pass that started would hold stop() until then.
    const hanging = { ...source, latestRevision: ({ signal }: { signal?: AbortSignal } = {}) => new Promise<string>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true })) };
    const reconciler = createReconciler({ name: 'r', source: hanging, render: yamlFiles(), sink: new MemorySink(), clock, jitter: 0, passSlots: slots });
    const started: string[] = [];
    reconciler.on('pass.started', (e) => started.push(e.reason));
    reconciler.start();
    await clock.flush();
    expect(reconciler.status().phase).toBe('queued');
    taken();
    const stopped = await Promise.race([reconciler.stop({ abort: true }).then(() => 'stopped'), new Promise((r) => setTimeout(() => r('stop() still waiting'), 200))]);
    expect(stopped).toBe('stopped');
    expect(started).toEqual([]);
    expect(slots.stats()).toEqual({ held: 0, waiting: 0, max: 1 });
  });

  it('a trigger that joined a queued reconcile() is not lost when that call gives up: a pass runs for it', async () => {
    const slots = new Semaphore(1);
    const { reconciler, clock, events } = queuedReconciler(slots);
    reconciler.start();
    await clock.flush();
    expect(events).toEqual(['pass.started start', 'pass.succeeded']);
    const taken = await slots.acquire();
    const abort = new AbortController();
    const manual = reconciler.reconcile({ signal: abort.signal });
    await clock.flush();
    expect(reconciler.status().phase).toBe('queued');
    reconciler.trigger('drift');
    abort.abort(new DOMException('the caller gave up', 'AbortError'));
    expect(await manual).toMatchObject({ status: 'failed', error: { code: 'ABORTED' } });
    taken();
    await clock.flush();
    expect(events).toEqual(['pass.started start', 'pass.succeeded', 'pass.started drift', 'pass.succeeded']);
    await reconciler.stop();
  });
});
