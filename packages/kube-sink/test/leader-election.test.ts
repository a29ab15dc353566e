import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { createReconciler } from '@converge/core';
import { FakeClock } from '@converge/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeaseClient, createLeaderElector, createTransport, type LeaderElector, type LeaderEvent } from '../src/index.js';
import { configMap, desiredState, recordingSink, uniqueName } from './helpers.js';
import { cuttableTransport, leaseNamespace, leaseTestTransport, runFor } from './lease-helpers.js';

let kc: KubeConfig;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function elector(ns: string, identity: string, clock: FakeClock, extra: Partial<Parameters<typeof createLeaderElector>[0]> = {}): LeaderElector & { events: LeaderEvent[] } {
  const transport = extra.transport ?? leaseTestTransport(kc);
  const e = createLeaderElector({ lease: { namespace: ns, name: 'agent' }, identity, clock, random: () => 0, ...extra, transport } as Parameters<typeof createLeaderElector>[0]);
  const events: LeaderEvent[] = [];
  e.on('*', (ev) => events.push(ev));
  cleanups.push(() => transport.close());
  cleanups.push(() => e.stop());
  return Object.assign(e, { events });
}

/** A fresh Lease in its own namespace, and `replica-a` leading it (started, half a second on the clock). */
async function leaderOnFreshLease(): Promise<{ ns: string; clock: FakeClock; a: ReturnType<typeof elector> }> {
  const ns = uniqueName('lease');
  await leaseNamespace(kc, ns);
  const clock = new FakeClock(Date.now());
  const a = elector(ns, 'replica-a', clock);
  a.start();
  await runFor(clock, 500);
  return { ns, clock, a };
}

describe('createLeaderElector on a real Lease', () => {
  it('one of two candidates leads and writes; the follower observes it and a reconciler guarded by it sends nothing', async () => {
    const { ns, clock, a } = await leaderOnFreshLease();
    const b = elector(ns, 'replica-b', clock);
    b.start();
    await runFor(clock, 3000);
    expect([a.mayWrite(), b.mayWrite()]).toEqual([true, false]);
    expect(a.events.filter((e) => e.type === 'leader.acquired')).toHaveLength(1);
    expect(b.holder()).toBe('replica-a');

    const lease = await new LeaseClient(createTransport(kc)).get(ns, 'agent');
    expect(lease?.spec).toMatchObject({ holderIdentity: 'replica-a', leaseDurationSeconds: 15, leaseTransitions: 0 });

    const state = desiredState([configMap(ns, 'app', { v: '1' })]);
    const follower = recordingSink(kc);
    const refused = await createReconciler({ name: `web-${ns}`, source: state.source, render: state.render, sink: follower.sink, writeGuard: b }).reconcile();
    expect(refused.error?.code).toBe('NOT_LEADER');
    expect(refused.error?.message).toContain('held by replica-a');
    expect(follower.requests).toEqual([]);
    const leader = recordingSink(kc);
    const done = await createReconciler({ name: `web-${ns}`, source: state.source, render: state.render, sink: leader.sink, writeGuard: a }).reconcile();
    expect(done.status).toBe('succeeded');
    expect(leader.writes().length).toBeGreaterThan(0);
    await follower.sink.close();
    await leader.sink.close();
  });

  it('a leader cut off from the API server stops writing at the renew deadline, at least 5 s before the other may acquire; never two writers', async () => {
    const ns = uniqueName('lease');
    await leaseNamespace(kc, ns);
    const clock = new FakeClock(Date.now());
    const net = cuttableTransport(kc);
    const a = elector(ns, 'replica-a', clock, { transport: net.transport });
    cleanups.push(() => net.transport.close());
    a.start();
    await runFor(clock, 500);
    const b = elector(ns, 'replica-b', clock);
    b.start();
    await runFor(clock, 4000);
    expect(a.mayWrite()).toBe(true);

    net.cut = true;
    const cutAt = clock.now();
    let both = 0;
    await runFor(clock, 25_000, () => {
      if (a.mayWrite() && b.mayWrite()) both++;
    });
    expect(both).toBe(0);
    const lost = a.events.find((e) => e.type === 'leader.lost');
    const acquired = b.events.find((e) => e.type === 'leader.acquired');
    expect(lost).toMatchObject({ reason: 'renew-deadline' });
    expect(lost!.at - cutAt).toBeLessThanOrEqual(10_000);
    expect(acquired!.at - lost!.at).toBeGreaterThanOrEqual(4500);
    expect(acquired!.at - cutAt).toBeLessThanOrEqual(15_000 + 2 * 2000 * 2.2);
    expect(b.mayWrite()).toBe(true);

    // The old leader comes back: it finds the lease held and stays a follower.
    net.cut = false;
    await runFor(clock, 6000);
    expect(a.mayWrite()).toBe(false);
    expect(a.holder()).toBe('replica-b');
    const lease = await new LeaseClient(createTransport(kc)).get(ns, 'agent');
    expect(lease?.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
  });

  it('stop() releases the lease, so the other candidate leads within a few retry periods instead of a lease duration', async () => {
    const { ns, clock, a } = await leaderOnFreshLease();
    const b = elector(ns, 'replica-b', clock);
    b.start();
    await runFor(clock, 3000);
    const stoppedAt = clock.now();
    await a.stop();
    expect(a.mayWrite()).toBe(false);
    expect(a.events.at(-1)).toMatchObject({ type: 'leader.lost', reason: 'stopped' });
    await runFor(clock, 6000);
    const acquired = b.events.find((e) => e.type === 'leader.acquired');
    expect(acquired!.at - stoppedAt).toBeLessThan(6000);
  });

  it('stop() releases the lease even when it was written since the leader last read it (a renew cut off by stop() that landed)', async () => {
    const { ns, clock, a } = await leaderOnFreshLease();
    expect(a.mayWrite()).toBe(true);
    // The Lease changes behind the leader's back, still held by it: its resourceVersion moves on.
    const client = new LeaseClient(createTransport(kc));
    const lease = (await client.get(ns, 'agent'))!;
    expect((await client.update({ ...lease, metadata: { ...lease.metadata, annotations: { touched: 'yes' } } })).ok).toBe(true);
    await a.stop();
    // Before: the release was sent from the stale resourceVersion, refused with 409, and dropped
    // without a word; the Lease stayed held for its whole duration.
    expect((await client.get(ns, 'agent'))?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(a.events.filter((e) => e.type === 'lease.failed')).toEqual([]);
  });

  it('candidates starting together on a fresh lease: exactly one wins the optimistic-concurrency race', async () => {
    const ns = uniqueName('lease');
    await leaseNamespace(kc, ns);
    const clock = new FakeClock(Date.now());
    const all = ['a', 'b', 'c', 'd'].map((id) => elector(ns, `replica-${id}`, clock));
    for (const e of all) e.start();
    await runFor(clock, 5000);
    expect(all.filter((e) => e.mayWrite())).toHaveLength(1);
    expect(all.flatMap((e) => e.events.filter((ev) => ev.type === 'leader.acquired'))).toHaveLength(1);
  });

  it('rejects timing that cannot fence: renewDeadlineMs must be shorter than leaseDurationMs', () => {
    expect(() => createLeaderElector({ kubeConfig: kc, lease: { namespace: 'x', name: 'y' }, identity: 'a', leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      expect.objectContaining({ code: 'LEASE_OPTIONS_INVALID' }),
    );
  });
});
