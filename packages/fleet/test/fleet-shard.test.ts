import { yamlFiles, type FleetShard, type ShardedApp, type ShardedFleet } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../src/index.js';

/** A shard whose owned set the test sets by hand. */
function handShard(owned: string[]): FleetShard & { owned: Set<string>; fleet?: ShardedFleet; asked: ShardedApp[] } {
  const shard: FleetShard & { owned: Set<string>; fleet?: ShardedFleet; asked: ShardedApp[] } = {
    owned: new Set(owned),
    asked: [],
    owns(app) {
      shard.asked.push(app);
      return shard.owned.has(app.name);
    },
    attach(fleet) {
      shard.fleet = fleet;
      return () => undefined;
    },
  };
  return shard;
}

const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: default }\ndata: { v: "1" }\n`;

function fleetOn(sink: MemorySink, shard: FleetShard, specs = memorySource({ 'apps/a.yaml': '{}\n', 'apps/b.yaml': '{}\n', 'apps/c.yaml': 'shard: isolated\n' })) {
  const fleet = createFleet({
    name: 'f',
    source: specs,
    path: 'apps',
    sink,
    shard,
    createApp: (spec) => ({ source: memorySource({ 'x.yaml': cm(spec.name) }), render: yamlFiles() }),
  });
  return { fleet, specs };
}

describe('a fleet with a shard', () => {
  it('runs only the applications the shard says this replica owns, passing pinned apps with their label', async () => {
    const sink = new MemorySink();
    const shard = handShard(['a', 'fleet:f']);
    const { fleet } = fleetOn(sink, shard);
    const result = await fleet.reconcile();
    expect(result.status).toBe('succeeded');
    expect(Object.keys(result.apps)).toEqual(['a']);
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['a']);
    expect(shard.asked).toContainEqual(expect.objectContaining({ name: 'c', shard: 'isolated' }));
    // The record holds every application (pinned ones with their label), written by the record's owner.
    expect(await sink.readInventory('fleet:f')).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'a' }), expect.objectContaining({ name: 'b' }), expect.objectContaining({ name: 'c', namespace: 'isolated' })]),
    );
  });

  it('a replica that does not own the record never writes it, and a released application is stopped and no longer applied', async () => {
    const sink = new MemorySink();
    const shard = handShard(['a', 'b']);
    const { fleet } = fleetOn(sink, shard);
    await fleet.reconcile();
    expect(sink.calls.filter((c) => c.op === 'writeInventory' && c.refs.some((r) => r.kind === 'Application'))).toEqual([]);
    expect(fleet.app('b')).toBeDefined();

    shard.owned.delete('b');
    await shard.fleet!.release(['b']);
    expect(fleet.app('b')).toBeUndefined();
    sink.remove({ group: '', kind: 'ConfigMap', namespace: 'default', name: 'b' });
    const again = await fleet.reconcile();
    expect(Object.keys(again.apps)).toEqual(['a']);
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['a']);
  });

  it('a removed application is torn down only by the replica that owns it', async () => {
    const sink = new MemorySink();
    const owner = handShard(['a', 'b', 'fleet:f']);
    const { fleet, specs } = fleetOn(sink, owner);
    await fleet.reconcile();
    const other = handShard([]);
    const { fleet: otherFleet } = fleetOn(sink, other, specs);
    specs.remove('apps/b.yaml');
    const notOwner = await otherFleet.reconcile();
    expect(notOwner.removed).toEqual([]);
    expect(sink.objects().map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    const byOwner = await fleet.reconcile();
    expect(byOwner.removed).toEqual(['b']);
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['a']);
  });
});

describe('a fleet with a writeGuard', () => {
  it('a fleet that is not the leader fails its pass with NOT_LEADER and writes nothing; the leader applies every application', async () => {
    const sink = new MemorySink();
    const specs = memorySource({ 'apps/a.yaml': '{}\n' });
    const guard = { leading: false, mayWrite: () => guard.leading, describe: () => 'Lease agent held by replica-b' };
    const fleet = createFleet({ name: 'f', source: specs, path: 'apps', sink, writeGuard: guard, createApp: (spec) => ({ source: memorySource({ 'x.yaml': cm(spec.name) }), render: yamlFiles() }) });
    const refused = await fleet.reconcile();
    expect(refused.error?.code).toBe('NOT_LEADER');
    expect(sink.writes).toBe(0);
    guard.leading = true;
    const led = await fleet.reconcile();
    expect(led.apps['a']?.status).toBe('succeeded');
    expect(sink.objects().map((o) => o.metadata.name)).toEqual(['a']);
  });
});
