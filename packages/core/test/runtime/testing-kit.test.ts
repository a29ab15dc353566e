import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconciler.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { memorySource } from '../../src/testing/memory-source.js';
import { nextEvent } from '../../src/testing/next-event.js';
import { settled } from '../../src/testing/settled.js';
import { yamlFiles } from '../../src/yaml-files.js';

const cm = (name: string, value = '1') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: demo\ndata:\n  v: "${value}"\n`;

describe('memorySource', () => {
  it('makes each change a new revision and keeps every revision fetchable as it was', async () => {
    const source = memorySource({ 'a.yaml': cm('a') });
    expect(await source.latestRevision()).toBe('r1');
    source.write('b.yaml', cm('b'));
    source.remove('a.yaml');
    source.remove('missing.yaml');
    expect(source.revision).toBe('r3');
    expect(await (await source.fetch('r1')).files.list()).toEqual(['a.yaml']);
    expect(await (await source.fetch()).files.list()).toEqual(['b.yaml']);
    await expect(source.fetch('r9')).rejects.toMatchObject({ code: 'REVISION_NOT_FOUND' });
  });

  it('drives a reconciler: a removed file is pruned', async () => {
    const source = memorySource({ 'a.yaml': cm('a'), 'b.yaml': cm('b') });
    const sink = new MemorySink();
    const r = createReconciler({ name: 'demo', source, render: yamlFiles(), sink, prune: true });
    await r.reconcile();
    source.remove('b.yaml');
    expect((await r.reconcile()).counts.deleted).toBe(1);
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['a']);
  });
});

describe('nextEvent', () => {
  it('rejects after timeoutMs with a message naming the event awaited', async () => {
    const r = createReconciler({ name: 'quiet', source: memorySource(), render: yamlFiles(), sink: new MemorySink() });
    await expect(nextEvent(r, 'pass.succeeded', { timeoutMs: 20 })).rejects.toThrow('nextEvent: no pass.succeeded event within 20 ms');
  });
});

describe('settled', () => {
  it('waits for the drift pass a watch scheduled on the fake clock, without moving time', async () => {
    const clock = new FakeClock(1_000);
    const source = memorySource({ 'a.yaml': cm('a') });
    const sink = new MemorySink();
    const r = createReconciler({ name: 'demo', source, render: yamlFiles(), sink, clock, jitter: 0 });
    r.start();
    await settled(r, { clock });
    expect(r.status().history).toHaveLength(1);

    const live = sink.objects()[0]!;
    sink.set({ ...live, data: { v: 'edited' } });
    await settled(r, { clock });

    expect(r.status().history.at(-1)).toMatchObject({ reason: 'drift', result: 'succeeded' });
    expect(sink.objects()[0]?.['data']).toEqual({ v: '1' });
    expect(clock.now()).toBe(1_000);
    await r.stop();
  });
});
