import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/object.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { sinkConformance } from '../../src/testing/sink-conformance.js';

describe('MemorySink passes the sink conformance suite', () => {
  const sink = new MemorySink();
  for (const check of sinkConformance({ makeSink: () => sink, namespace: 'conformance' })) it(check.name, () => check.run());
});

describe('the sink conformance suite catches a sink that breaks the contract', () => {
  it('a sink that deletes protected objects fails the delete check, saying what it did', async () => {
    class Careless extends MemorySink {
      override async delete(refs: Parameters<MemorySink['delete']>[0]) {
        for (const ref of refs) this.remove(ref);
        return refs.map((ref) => ({ ref, ok: true as const, found: true }));
      }
    }
    const checks = sinkConformance({ makeSink: () => new Careless(), namespace: 'careless' });
    const check = checks.find((c) => c.name.startsWith('delete keeps'))!;
    await expect(check.run()).rejects.toThrow(/expected skipped: 'prune-disabled'/);
  });

  it('a sink that forgets inventories fails the inventory check', async () => {
    class Forgetful extends MemorySink {
      override async readInventory() {
        return undefined;
      }
    }
    const check = sinkConformance({ makeSink: () => new Forgetful(), namespace: 'forgetful' }).find((c) => c.name.startsWith('inventories'))!;
    await expect(check.run()).rejects.toThrow(/read back/);
  });

  it('a sink that ignores dry run fails the dry-run check', async () => {
    class Eager extends MemorySink {
      override async apply(objects: readonly KubeObject[], options: Parameters<MemorySink['apply']>[1] = {}) {
        return super.apply(objects, { ...options, dryRun: false });
      }
    }
    const check = sinkConformance({ makeSink: () => new Eager(), namespace: 'eager' }).find((c) => c.name.startsWith('a dry-run apply'))!;
    await expect(check.run()).rejects.toThrow(/created the object/);
  });
});
