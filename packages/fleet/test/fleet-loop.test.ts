import { memorySource } from '@converge/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleet, FleetEvent } from '../src/index.js';
import { clockedFleet } from './support/clocked-fleet.js';
import { configMap } from './support/manifests.js';

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
    const repo = memorySource({ 'app/cm.yaml': configMap('cfg', '1'), 'apps/.keep': '' });
    const { fleet, clock, sink } = clockedFleet(repo);
    cleanups.push(() => fleet.stop());

    const firstFleetPass = next(fleet, (e) => e.type === 'fleet.pass.succeeded');
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

  it("a spec file's intervalMs sets its application's time between passes, instead of appDefaults.intervalMs", async () => {
    const repo = memorySource({ 'app/cm.yaml': configMap('cfg', '1'), 'apps/slow.yaml': 'intervalMs: 30000\n' });
    const { fleet, clock } = clockedFleet(repo);
    cleanups.push(() => fleet.stop());

    const applied = next(fleet, (e) => e.type === 'pass.succeeded' && e.reconciler === 'f-slow');
    fleet.start();
    await clock.flush();
    await applied;
    expect((fleet.status().apps['slow']?.nextRunAt ?? NaN) - clock.now()).toBe(30_000);
  });
});
