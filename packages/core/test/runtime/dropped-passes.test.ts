import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { createReconciler, type Reconciler } from '../../src/reconciler.js';
import { Semaphore } from '../../src/semaphore.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { memorySource } from '../../src/testing/memory-source.js';
import { yamlFiles } from '../../src/yaml-files.js';

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: default }\ndata: { v: "1" }\n';

/** A reconciler on a fake clock, with or without `passSlots`, and the pass events it emitted. */
function reconcilerWith(passSlots: Semaphore | undefined, clock: Clock = new FakeClock()) {
  const sink = new MemorySink();
  const reconciler = createReconciler({ name: 'r', source: memorySource({ 'a.yaml': configMap }), render: yamlFiles(), sink, clock, jitter: 0, ...(passSlots && { passSlots }) });
  const events: string[] = [];
  reconciler.on('*', (e) => {
    if (e.type === 'pass.started' || e.type === 'pass.skipped') events.push(`${e.type} ${e.reason}`);
    else if (e.type === 'pass.succeeded' || e.type === 'pass.failed') events.push(e.type);
  });
  return { reconciler, clock, sink, events };
}

const withAndWithoutSlots = [
  ['without passSlots', () => undefined],
  ['with passSlots', () => new Semaphore(1)],
] as const;

describe.each(withAndWithoutSlots)('a pass that is about to begin (%s)', (_, slots) => {
  it('stop({ abort }) in the same tick: the pass is dropped as stopped, never started, and nothing is applied', async () => {
    const { reconciler, sink, events } = reconcilerWith(slots());
    const result = reconciler.reconcile();
    await reconciler.stop({ abort: true });
    expect(await result).toMatchObject({ status: 'skipped' });
    expect(events).toEqual(['pass.skipped stopped']);
    expect(sink.objects()).toEqual([]);
    expect(reconciler.status()).toMatchObject({ phase: 'stopped', history: [], consecutiveFailures: 0 });
  });

  it('the first pass of start() and stop({ abort }) in the tick its timer fires: dropped as stopped, never started', async () => {
    const fake = new FakeClock();
    let stopping: Reconciler | undefined;
    // The start pass's timer enqueues the pass, and stop({ abort }) comes in the same tick, before it begins.
    const racing: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms) => fake.setTimeout(() => (fn(), void stopping?.stop({ abort: true })), ms),
      clearTimeout: (handle) => fake.clearTimeout(handle),
    };
    const { reconciler, events } = reconcilerWith(slots(), racing);
    stopping = reconciler;
    reconciler.start();
    await fake.flush();
    expect(events).toEqual(['pass.skipped stopped']);
    expect(reconciler.status()).toMatchObject({ phase: 'stopped', history: [] });
  });

  it('reconcile() whose signal aborted before its turn: fails with ABORTED and never starts', async () => {
    const { reconciler, events } = reconcilerWith(slots());
    const abort = new AbortController();
    abort.abort(new DOMException('the caller gave up', 'AbortError'));
    expect(await reconciler.reconcile({ signal: abort.signal })).toMatchObject({ status: 'failed', error: { code: 'ABORTED' } });
    expect(events).toEqual([]);
    expect(reconciler.status()).toMatchObject({ phase: 'stopped', history: [] });
  });
});
