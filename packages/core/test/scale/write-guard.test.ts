import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconciler.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { memorySource } from '../../src/testing/memory-source.js';
import { yamlFiles } from '../../src/yaml-files.js';
import { NotLeaderError, type WriteGuard } from '../../src/write-guard.js';
import type { ApplyOptions } from '../../src/sink.js';
import type { KubeObject } from '../../src/object.js';

const cm = (name: string, value: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: web }\ndata: { v: "${value}" }\n`;

function switchable(initial: boolean): WriteGuard & { allowed: boolean } {
  return { allowed: initial, mayWrite() { return this.allowed; }, describe: () => 'lease web held by replica-b' };
}

describe('writeGuard on a reconciler', () => {
  it('a replica that may not write fails its pass with a retryable NOT_LEADER and sends nothing, not even reads', async () => {
    const sink = new MemorySink();
    const guard = switchable(false);
    const r = createReconciler({ name: 'web', source: memorySource({ 'a.yaml': cm('a', '1') }), render: yamlFiles(), sink, writeGuard: guard });
    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error).toBeInstanceOf(NotLeaderError);
    expect(result.error?.code).toBe('NOT_LEADER');
    expect(result.error?.retryable).toBe(true);
    expect(result.error?.message).toContain('lease web held by replica-b');
    expect(sink.calls).toEqual([]);

    guard.allowed = true;
    expect((await r.reconcile()).status).toBe('succeeded');
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['a']);
  });

  it('losing the right mid-pass stops the pass at its next write: the apply after the inventory write is never sent', async () => {
    const sink = new MemorySink();
    const guard = switchable(true);
    const source = memorySource({ 'a.yaml': cm('a', '1') });
    const r = createReconciler({ name: 'web', source, render: yamlFiles(), sink, writeGuard: guard, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    // The lease is lost while the inventory is being written.
    const writeInventory = sink.writeInventory.bind(sink);
    sink.writeInventory = async (owner, refs, o) => {
      await writeInventory(owner, refs, o);
      guard.allowed = false;
    };
    source.replace({ 'b.yaml': cm('b', '1'), 'a.yaml': cm('a', '2') });
    const before = sink.calls.length;
    const result = await r.reconcile();
    expect(result.error?.code).toBe('NOT_LEADER');
    const after = sink.calls.slice(before).filter((c) => !c.dryRun).map((c) => c.op);
    expect(after).not.toContain('apply');
    expect(after).not.toContain('delete');
    expect(sink.objects().map((o) => [o.metadata.name, (o as KubeObject & { data: { v: string } }).data.v])).toEqual([['a', '1']]);
  });

  it('prune is refused once the right is lost after the applies', async () => {
    const sink = new MemorySink();
    const guard = switchable(true);
    const source = memorySource({ 'a.yaml': cm('a', '1'), 'b.yaml': cm('b', '1') });
    const r = createReconciler({ name: 'web', source, render: yamlFiles(), sink, writeGuard: guard, prune: true });
    await r.reconcile();
    const apply = sink.apply.bind(sink);
    sink.apply = async (objects: readonly KubeObject[], o?: ApplyOptions) => {
      const results = await apply(objects, o);
      if (!o?.dryRun) guard.allowed = false;
      return results;
    };
    source.replace({ 'a.yaml': cm('a', '2') });
    const result = await r.reconcile();
    expect(result.error?.code).toBe('NOT_LEADER');
    expect(sink.objects().map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    expect(sink.calls.filter((c) => c.op === 'delete')).toEqual([]);
  });

  it('dry runs are not guarded', async () => {
    const sink = new MemorySink();
    const r = createReconciler({ name: 'web', source: memorySource({ 'a.yaml': cm('a', '1') }), render: yamlFiles(), sink, writeGuard: switchable(false), dryRun: true });
    expect((await r.reconcile()).status).toBe('succeeded');
    expect(sink.writes).toBe(0);
  });
});
