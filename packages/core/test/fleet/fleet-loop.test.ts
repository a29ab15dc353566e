import { afterEach, describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import { createFleet, type Fleet, type FleetEvent } from '../../src/fleet/fleet.js';
import { exponentialBackoff } from '../../src/retry-policy.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { yamlFiles } from '../../src/yaml-files.js';
import { configMap, fixtureRepo } from '../runtime/fixture-repo.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

/** Resolves on the next fleet event matching `where`. */
function next(fleet: Fleet, where: (e: FleetEvent) => boolean): Promise<FleetEvent> {
  return new Promise((resolve) => {
    const off = fleet.on('*', (e) => {
      if (where(e)) {
        off();
        resolve(e);
      }
    });
  });
}

describe('createFleet in pull mode', () => {
  it('starts an application for a new spec file on the next poll, and suspend() holds every application', async () => {
    const repo = fixtureRepo({ 'app/cm.yaml': configMap('cfg', '1'), 'apps/.keep': '' });
    const clock = new FakeClock();
    const sink = new MemorySink();
    const fleet = createFleet({
      name: 'f',
      source: directorySource(repo.root),
      path: 'apps',
      sink,
      clock,
      interval: 10_000,
      jitter: 0,
      retry: exponentialBackoff({ jitter: 0 }),
      appDefaults: { interval: 10_000, jitter: 0 },
      createApp: () => ({ source: directorySource(`${repo.root}/app`), render: yamlFiles() }),
    });
    cleanups.push(() => fleet.stop(), () => repo.dispose());

    const firstFleetPass = next(fleet, (e) => e.type === 'pass.succeeded' && e.reconciler === 'f');
    fleet.start();
    await clock.flush();
    await firstFleetPass;
    expect(sink.objects()).toEqual([]);

    repo.write('apps/shop.yaml', 'namespace: shop\n');
    const added = next(fleet, (e) => e.type === 'app.added');
    const applied = next(fleet, (e) => e.type === 'pass.succeeded' && e.reconciler === 'f-shop');
    await clock.advance(10_000);
    await added;
    await clock.flush(); // the new application's first pass is due now
    await applied;
    expect(sink.objects().map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual(['ConfigMap/demo/cfg', 'Namespace//shop']);

    fleet.suspend();
    expect(fleet.status().apps['shop']).toMatchObject({ suspended: true });
    sink.set({ ...sink.objects()[0]!, data: { value: 'hand edit' } });
    await clock.advance(60_000);
    expect((sink.objects()[0] as unknown as { data: { value: string } }).data.value).toBe('hand edit');
  });
});
