import { MemorySink, memorySource, settled } from '@converge/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../src/index.js';
import { clockedFleet } from './support/clocked-fleet.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

/** A ConfigMap without a namespace: each application puts it in its own. */
const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\ndata: { value: "1" }\n';

/** A fleet of two applications (`web`, `api`, each in its own namespace) over one repository, on a fake clock. */
function setup(repo = memorySource({ 'apps/web.yaml': 'namespace: web\n', 'apps/api.yaml': 'namespace: api\n', 'app/cm.yaml': cm }), sink = new MemorySink()) {
  const { fleet, clock } = clockedFleet(repo, sink);
  const events: FleetEvent[] = [];
  fleet.on('*', (e) => events.push(e));
  cleanups.push(() => fleet.stop());
  return { repo, sink, clock, fleet, events };
}

describe('Fleet.suspendApp', () => {
  it('holds one application across a spec change and a resume of the whole fleet, and resumeApp lets it run again', async () => {
    const { repo, fleet, events } = setup();
    await fleet.reconcile();
    expect(await fleet.suspendApp('web')).toBe(true);
    expect(fleet.status().apps['web']).toMatchObject({ suspended: true });
    expect(fleet.status().apps['api']).toMatchObject({ suspended: false });
    expect(fleet.status().suspendedApps).toEqual(['web']);
    expect(events.filter((e) => e.type === 'app.suspended').map((e) => e.type === 'app.suspended' && e.app)).toEqual(['web']);

    // A spec change builds a new reconciler for web: it starts suspended.
    repo.write('apps/web.yaml', 'namespace: web\nvars: { TIER: gold }\n');
    const changed = await fleet.reconcile();
    expect(changed.updated).toEqual(['web']);
    expect(changed.apps['web']?.status).toBe('skipped');
    expect(fleet.status().apps['web']).toMatchObject({ suspended: true, spec: { vars: { TIER: 'gold' } } });

    fleet.suspend();
    fleet.resume();
    expect(fleet.status().apps['web']).toMatchObject({ suspended: true });
    expect(fleet.status().apps['api']).toMatchObject({ suspended: false });

    expect(await fleet.resumeApp('web')).toBe(true);
    expect(fleet.status().apps['web']).toMatchObject({ suspended: false });
    expect(fleet.status().suspendedApps).toEqual([]);
    expect((await fleet.reconcile()).apps['web']?.status).toBe('succeeded');
  });

  it('is recorded with the fleet\'s applications: a fleet started again over the same sink keeps the application suspended', async () => {
    const first = setup();
    await first.fleet.reconcile();
    await first.fleet.suspendApp('web');
    await first.fleet.stop();
    expect((await first.sink.readInventory('fleet:f'))?.map((r) => `${r.kind}/${r.name}`).sort()).toEqual(['Application/api', 'Application/web', 'SuspendedApplication/web']);

    const restarted = setup(first.repo, first.sink);
    const result = await restarted.fleet.reconcile();
    expect(result.apps['web']?.status).toBe('skipped');
    expect(result.apps['api']?.status).toBe('succeeded');
    expect(restarted.fleet.status().suspendedApps).toEqual(['web']);

    // In pull mode too: the suspended application never runs a pass.
    restarted.fleet.start();
    await restarted.clock.flush();
    await restarted.clock.advance(30_000);
    expect(restarted.fleet.status().apps['web']).toMatchObject({ suspended: true, phase: 'suspended' });
    expect(restarted.events.some((e) => e.type === 'pass.started' && e.reconciler === 'f-web')).toBe(false);
    // Resumed, it runs a pass at once.
    await restarted.fleet.resumeApp('web');
    await restarted.clock.flush();
    await settled(restarted.fleet.app('web')!, { clock: restarted.clock });
    expect(restarted.fleet.app('web')?.status().history.at(-1)).toMatchObject({ result: 'succeeded', reason: 'resume' });
  });

  it('in pull mode, an application whose spec changed while suspended runs a pass at once when resumed', async () => {
    const { repo, clock, fleet, events } = setup();
    fleet.start();
    await clock.flush();
    await settled(fleet.app('web')!, { clock });
    await fleet.suspendApp('web');

    // The new spec builds a new reconciler for web; it is started, and waits suspended.
    repo.write('apps/web.yaml', 'namespace: web\nvars: { TIER: gold }\n');
    fleet.trigger();
    await clock.flush();
    await settled(fleet.app('web')!, { clock });
    expect(events.some((e) => e.type === 'app.updated' && e.app === 'web')).toBe(true);
    expect(fleet.status().apps['web']).toMatchObject({ suspended: true, phase: 'suspended', history: [] });

    await fleet.resumeApp('web');
    await clock.flush();
    await settled(fleet.app('web')!, { clock });
    expect(fleet.app('web')?.status().history.at(-1)).toMatchObject({ result: 'succeeded', reason: 'resume' });
  });

  it('follows the record when another replica changed it, and ends with its application', async () => {
    const { repo, sink, fleet } = setup();
    await fleet.reconcile();
    // Another process (e.g. the replica that holds the record) suspends web.
    const other = setup(repo, sink);
    await other.fleet.reconcile();
    await other.fleet.suspendApp('web');
    await fleet.reconcile();
    expect(fleet.status().apps['web']).toMatchObject({ suspended: true });

    repo.remove('apps/web.yaml');
    await fleet.reconcile();
    expect(fleet.status().suspendedApps).toEqual([]);
    expect((await sink.readInventory('fleet:f'))?.map((r) => `${r.kind}/${r.name}`)).toEqual(['Application/api']);
    // The same name declared again is a new application: not suspended.
    repo.write('apps/web.yaml', 'namespace: web\n');
    await fleet.reconcile();
    expect(fleet.status().apps['web']).toMatchObject({ suspended: false });
  });

  it('answers false for an application the spec folder does not declare, and writes nothing', async () => {
    const { sink, fleet } = setup();
    expect(await fleet.suspendApp('web')).toBe(false); // nothing read yet
    await fleet.reconcile();
    const writes = sink.writes;
    expect(await fleet.suspendApp('nope')).toBe(false);
    expect(await fleet.resumeApp('nope')).toBe(false);
    expect(sink.writes).toBe(writes);
  });
});
