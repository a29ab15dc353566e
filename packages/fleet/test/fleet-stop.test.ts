import { yamlFiles, type Source } from '@converge/core';
import { FakeClock, MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createFleet, type FleetEvent } from '../src/index.js';

/** A ConfigMap without a namespace: each application puts it in its own. */
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\ndata: { value: "1" }\n';

/** Resolves with `'settled'` once `promise` settles, or `'still waiting'` after `ms` of real time. */
async function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  try {
    return await Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A source that answers its first `answered` revision checks, then never again (and ignores its signal). */
function stallingSource(inner: Source, answered: number): Source & { calls(): number } {
  let calls = 0;
  return {
    id: inner.id,
    calls: () => calls,
    latestRevision: (o) => (++calls <= answered ? inner.latestRevision(o) : new Promise<string>(() => undefined)),
    fetch: (revision, o) => inner.fetch(revision, o),
  };
}

describe('stopping a fleet', () => {
  it('stop() during a fleet pass of a started fleet ends that pass without running every application once more', async () => {
    const repo = memorySource({ 'app/cm.yaml': configMap, 'apps/a.yaml': 'namespace: a\n', 'apps/b.yaml': 'namespace: b\n' });
    // The spec folder's second revision check waits until the test lets it go, so stop() lands mid-pass.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let specChecks = 0;
    const specs: Source = { ...repo, id: repo.id, latestRevision: async (o) => (++specChecks === 2 && (await held), repo.latestRevision(o)), fetch: (r, o) => repo.fetch(r, o) };
    // An application's second pass would never end: it must not be started by stop().
    const app = stallingSource(repo, 2);
    const clock = new FakeClock();
    const fleet = createFleet({ name: 'f', source: specs, path: 'apps', sink: new MemorySink(), clock, intervalMs: 10_000, jitter: 0, appDefaults: { intervalMs: 10_000, jitter: 0 }, createApp: () => ({ source: app, render: yamlFiles({ path: 'app' }) }) });
    const passes: FleetEvent[] = [];
    fleet.on("pass.started", (e) => passes.push(e));
    const firstPasses = new Promise<void>((resolve) => fleet.on('pass.succeeded', () => passes.length === 2 && resolve()));

    const firstFleetPass = new Promise<FleetEvent>((resolve) => fleet.on('fleet.pass.succeeded', resolve));
    fleet.start();
    await clock.flush();
    await firstFleetPass;
    await clock.flush(); // the applications' first passes are due now
    await firstPasses;
    fleet.trigger('webhook');
    await clock.flush();
    expect(specChecks).toBe(2);

    const stopped = fleet.stop();
    letGo();
    expect(await within(stopped, 2_000)).toBe('settled');
    expect(passes.map((e) => e.type === 'pass.started' && `${e.reconciler} ${e.reason}`)).toEqual(['f-a start', 'f-b start']);
  });

  it('a fleet pass that never ends fails with PASS_TIMEOUT at its deadline, and stop() does not wait past it', async () => {
    const repo = memorySource({ 'app/cm.yaml': configMap, 'apps/a.yaml': 'namespace: a\n' });
    const clock = new FakeClock();
    const fleet = createFleet({ name: 'f', source: stallingSource(repo, 0), path: 'apps', sink: new MemorySink(), clock, passTimeoutMs: 30_000, createApp: () => ({ source: repo, render: yamlFiles({ path: 'app' }) }) });

    const result = fleet.reconcile();
    await clock.advance(29_999);
    expect(await within(result, 50)).toBe('still waiting');
    await clock.advance(1);
    expect(await result).toMatchObject({ status: 'failed', error: { code: 'PASS_TIMEOUT', data: { timeoutMs: 30_000 } } });
    expect(fleet.status().lastError?.code).toBe('PASS_TIMEOUT');

    const failed = new Promise<FleetEvent>((resolve) => fleet.on('fleet.pass.failed', resolve));
    fleet.start();
    await clock.flush();
    const stopped = fleet.stop();
    await clock.advance(30_000);
    expect(await within(stopped, 2_000)).toBe('settled');
    expect(await failed).toMatchObject({ error: { code: 'PASS_TIMEOUT' } });
  });
});
