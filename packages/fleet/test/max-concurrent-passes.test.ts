import { yamlFiles, type FleetShard, type Source } from '@converge/core';
import { FakeClock, MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createFleet, type FleetEvent } from '../src/index.js';
import { setShard } from './support/set-shard.js';

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\ndata: { value: "1" }\n';

/**
 * Every application's source, held: each revision check waits until the test lets that
 * application's pass go on (`go`), or fails it (`fail`). `held()` names the passes waiting now.
 */
function heldSources() {
  const repo = memorySource({ 'app/cm.yaml': configMap });
  const waiting = new Map<string, { go: () => void; fail: (e: Error) => void }>();
  const sourceOf = (app: string): Source => ({
    id: `app-${app}`,
    latestRevision: (o) =>
      new Promise<void>((go, fail) => waiting.set(app, { go, fail })).then(() => {
        waiting.delete(app);
        return repo.latestRevision(o);
      }),
    fetch: (revision, o) => repo.fetch(revision, o),
  });
  return {
    sourceOf,
    held: () => [...waiting.keys()].sort(),
    go: (app: string) => waiting.get(app)!.go(),
    fail: (app: string, error: Error) => {
      waiting.get(app)!.fail(error);
      waiting.delete(app);
    },
  };
}

/** A fleet `f` of applications `apps` (one spec file each) with at most `max` passes at once, on a fake clock. */
function boundedFleet(apps: string[], max: number, o: { shard?: FleetShard } = {}) {
  const clock = new FakeClock();
  const sources = heldSources();
  const specs = memorySource(Object.fromEntries(apps.map((a) => [`apps/${a}.yaml`, `namespace: ${a}\n`])));
  const fleet = createFleet({
    name: 'f',
    source: specs,
    path: 'apps',
    sink: new MemorySink(),
    clock,
    maxConcurrentPasses: max,
    intervalMs: 600_000,
    jitter: 0,
    appDefaults: { intervalMs: 600_000, jitter: 0 },
    createApp: (spec) => ({ source: sources.sourceOf(spec.name), render: yamlFiles({ path: 'app' }) }),
    ...o,
  });
  const events: FleetEvent[] = [];
  fleet.on('*', (e) => events.push(e));
  /** `app reason` of every pass started, in order. */
  const started = () => events.flatMap((e) => (e.type === 'pass.started' ? [`${e.reconciler.slice(2)} ${e.reason}`] : []));
  let running = 0;
  let mostRunning = 0;
  fleet.on('pass.started', () => (mostRunning = Math.max(mostRunning, ++running)));
  fleet.on('pass.succeeded', () => running--);
  fleet.on('pass.failed', () => running--);
  return { fleet, clock, sources, specs, events, started, mostRunning: () => mostRunning };
}

/** Resolves with `'settled'` once `promise` settles, or `'still waiting'` after `ms` of real time. */
async function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  try {
    return await Promise.race([promise.then(() => 'settled' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a fleet with maxConcurrentPasses', () => {
  it('never runs more than that many application passes at once, and starts the waiting ones first come, first served', async () => {
    const { fleet, clock, sources, started, mostRunning } = boundedFleet(['a', 'b', 'c', 'd', 'e'], 2);
    fleet.start();
    await clock.flush();
    await clock.flush();
    expect(sources.held()).toEqual(['a', 'b']);
    expect(fleet.status().apps['c']?.phase).toBe('queued');

    // a trigger of a queued application joins its queued pass; one of a running application queues behind the others.
    fleet.app('c')!.trigger('webhook');
    sources.go('a');
    await clock.flush();
    fleet.app('a')!.trigger('webhook');
    for (const app of ['b', 'c', 'd', 'e', 'a']) {
      await clock.flush();
      expect(sources.held()).toContain(app);
      sources.go(app);
    }
    await clock.flush();
    expect(started()).toEqual(['a start', 'b start', 'c start', 'd start', 'e start', 'a webhook']);
    expect(mostRunning()).toBe(2);
    expect(Object.values(fleet.status().apps).map((s) => s.phase)).toEqual(['idle', 'idle', 'idle', 'idle', 'idle']);
    await fleet.stop();
  });

  it('a failing pass gives its slot back: the next application runs', async () => {
    const { fleet, clock, sources, events } = boundedFleet(['a', 'b'], 1);
    fleet.start();
    await clock.flush();
    await clock.flush();
    expect(sources.held()).toEqual(['a']);
    sources.fail('a', new Error('source down'));
    await clock.flush();
    expect(sources.held()).toEqual(['b']);
    sources.go('b');
    await clock.flush();
    expect(events.filter((e) => e.type === 'pass.failed' || e.type === 'pass.succeeded').map((e) => `${e.type} ${'reconciler' in e ? e.reconciler : ''}`)).toEqual(['pass.failed f-a', 'pass.succeeded f-b']);
    await fleet.stop();
  });

  it('stop() waits for the passes running, not for queued ones: those never start', async () => {
    const { fleet, clock, sources, events, started } = boundedFleet(['a', 'b', 'c'], 1);
    fleet.start();
    await clock.flush();
    await clock.flush();
    expect(sources.held()).toEqual(['a']);
    const stopped = fleet.stop();
    expect(await within(stopped, 50)).toBe('still waiting');
    sources.go('a');
    // Without dropping, b would take the slot next and hold stop() on its own held source.
    expect(await within(stopped, 2_000)).toBe('settled');
    await clock.flush();
    expect(started()).toEqual(['a start']);
    expect(sources.held()).toEqual([]);
    expect(events.flatMap((e) => (e.type === 'pass.skipped' ? [`${e.reconciler} ${e.reason}`] : []))).toEqual(['f-b stopped', 'f-c stopped']);
  });

  it('a queued pass of an application suspended or handed to another replica is dropped; the others run', async () => {
    const owned = new Set(['a', 'b', 'c', 'd', 'fleet:f']);
    const { shard, fleet: attached } = setShard(owned);
    const { fleet, clock, sources, events, started } = boundedFleet(['a', 'b', 'c', 'd'], 1, { shard });
    fleet.start();
    await clock.flush();
    await clock.flush();
    expect(sources.held()).toEqual(['a']);
    expect(await fleet.suspendApp('b')).toBe(true);
    owned.delete('c');
    await attached()!.release(['c']);
    sources.go('a');
    await clock.flush();
    expect(sources.held()).toEqual(['d']);
    sources.go('d');
    await clock.flush();
    // c's reconciler is gone with its events (the fleet unsubscribes before stopping it): it never started.
    expect(started()).toEqual(['a start', 'd start']);
    expect(fleet.app('c')).toBeUndefined();
    expect(events.flatMap((e) => (e.type === 'pass.skipped' ? [`${e.reconciler} ${e.reason}`] : []))).toEqual(['f-b suspended']);

    // Resumed, b queues again and runs.
    await fleet.resumeApp('b');
    await clock.flush();
    expect(sources.held()).toEqual(['b']);
    sources.go('b');
    await fleet.stop();
  });

  it('a queued pass of an application whose spec file is removed is dropped, and its teardown runs', async () => {
    const { fleet, clock, sources, specs, events, started } = boundedFleet(['a', 'b'], 1);
    fleet.start();
    await clock.flush();
    await clock.flush();
    expect(sources.held()).toEqual(['a']);
    specs.remove('apps/b.yaml');
    fleet.trigger('webhook');
    await clock.flush();
    expect(events.some((e) => e.type === 'app.removed' && e.app === 'b')).toBe(true);
    sources.go('a');
    await clock.flush();
    // b's queued first pass never ran; its teardown (a pass of the fleet's own, which takes no slot) did, while a held the slot.
    expect(started()).toEqual(['a start', 'b manual']);
    expect(sources.held()).toEqual([]);
    await fleet.stop();
  });

  it('refuses a bound below 1', () => {
    expect(() => boundedFleet(['a'], 0)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', data: { option: 'maxConcurrentPasses' } }));
  });
});
