import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { assignApps, type ShardedApp, type ShardMember } from '@converge/core';
import { createFleet } from '@converge/fleet';
import { FakeClock, memorySource } from '@converge/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createShardMembership, type ShardMembership, type ShardMembershipOptions } from '../src/index.js';
import { desiredState, configMap, eventually, recordingSink, uniqueName } from './helpers.js';
import { cuttableTransport, leaseNamespace, leaseTestTransport, runFor } from './lease-helpers.js';

let kc: KubeConfig;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const apps: ShardedApp[] = Array.from({ length: 60 }, (_, i) => ({ name: `app-${i}` }));

/** A member with a stand-in fleet that records when it was told to stop which apps. */
function member(ns: string, identity: string, clock: FakeClock, extra: Partial<ShardMembershipOptions> = {}): ShardMembership & { released: Map<string, number> } {
  const transport = extra.transport ?? leaseTestTransport(kc);
  const m = createShardMembership({ namespace: ns, group: 'fleet', identity, clock, random: () => 0, ...extra, transport } as ShardMembershipOptions);
  const released = new Map<string, number>();
  m.attach({ release: async (names) => void names.forEach((n) => released.set(n, clock.now())), changed: () => undefined });
  cleanups.push(() => transport.close());
  cleanups.push(() => m.stop());
  return Object.assign(m, { released });
}

/** Asks every member about every app, as fleets do at each pass; fails if an app has two owners. */
function owners(members: ShardMembership[], list: ShardedApp[] = apps): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const app of list) {
    const who = members.filter((m) => m.owns(app)).map((m) => m.identity);
    if (who.length > 1) throw new Error(`${app.name} is owned by ${who.join(' and ')}`);
    out.set(app.name, who[0]);
  }
  return out;
}

describe('createShardMembership on real Leases', () => {
  it('spreads apps over the live members by rendezvous hashing; a joining member takes only its share, each app stopped by its old owner before the new one owns it', async () => {
    const ns = uniqueName('shard');
    await leaseNamespace(kc, ns);
    const clock = new FakeClock(Date.now());
    const ms = ['a', 'b', 'c'].map((id) => member(ns, `replica-${id}`, clock));
    for (const m of ms) m.start();
    await runFor(clock, 8000, () => owners(ms));
    const members = (ids: string[]): ShardMember[] => ids.map((id) => ({ id }));
    const before = owners(ms);
    expect(before).toEqual(assignApps(apps, members(['replica-a', 'replica-b', 'replica-c'])));

    const d = member(ns, 'replica-d', clock);
    d.start();
    const firstOwned = new Map<string, number>();
    const all = [...ms, d];
    await runFor(clock, 10_000, () => {
      for (const [app, who] of owners(all)) if (who === 'replica-d' && !firstOwned.has(app)) firstOwned.set(app, clock.now());
    });
    const after = owners(all);
    expect(after).toEqual(assignApps(apps, members(['replica-a', 'replica-b', 'replica-c', 'replica-d'])));
    const moved = apps.map((a) => a.name).filter((app) => before.get(app) !== after.get(app));
    expect(moved.length).toBeGreaterThan(5);
    expect(moved.every((app) => after.get(app) === 'replica-d')).toBe(true);
    for (const app of moved) {
      const old = ms.find((m) => m.identity === before.get(app))!;
      expect(old.released.get(app)).toBeLessThanOrEqual(firstOwned.get(app)!);
    }
    // Apps that did not move were never stopped.
    for (const m of ms) expect([...m.released.keys()].every((app) => moved.includes(app))).toBe(true);
  });

  it('a member that stops gracefully hands its apps to the others within a few retry periods; pinned apps go only to the member serving their shard label', async () => {
    const ns = uniqueName('shard');
    await leaseNamespace(kc, ns);
    const clock = new FakeClock(Date.now());
    const a = member(ns, 'replica-a', clock);
    const b = member(ns, 'replica-b', clock);
    const iso = member(ns, 'isolated-0', clock, { shard: 'isolated' });
    for (const m of [a, b, iso]) m.start();
    const list = [...apps, { name: 'payments', shard: 'isolated' }, { name: 'ledger', shard: 'isolated' }];
    await runFor(clock, 8000, () => owners([a, b, iso], list));
    const before = owners([a, b, iso], list);
    expect(before.get('payments')).toBe('isolated-0');
    expect(before.get('ledger')).toBe('isolated-0');
    expect([...before.values()].filter((w) => w === 'isolated-0')).toHaveLength(2);

    const stoppedAt = clock.now();
    await a.stop();
    expect(a.held()).toEqual([]);
    let movedAt = 0;
    await runFor(clock, 8000, () => {
      const now = owners([b, iso], list);
      if (!movedAt && apps.every((app) => now.get(app.name) === 'replica-b')) movedAt = clock.now();
    });
    expect(movedAt).toBeGreaterThan(0);
    expect(movedAt - stoppedAt).toBeLessThan(15_000);
    expect(owners([b, iso], list).get('payments')).toBe('isolated-0');
  });

  it('a timer that fires a millisecond before the renew deadline (as Node timers can, by the wall clock) still ends the membership at the deadline', async () => {
    const ns = uniqueName('shard');
    await leaseNamespace(kc, ns);
    /** Fires every timer of more than 1 ms a millisecond early, as Node's monotonic timers can by `Date.now()`. */
    class EarlyClock extends FakeClock {
      override setTimeout(fn: () => void, ms: number) {
        return super.setTimeout(fn, ms > 1 ? ms - 1 : ms);
      }
    }
    const clock = new EarlyClock(Date.now());
    const net = cuttableTransport(kc);
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    cleanups.push(() => net.transport.close());
    const m = member(ns, 'replica-a', clock, { transport: net.transport, ...timing });
    const lost: { at: number; reason: string }[] = [];
    m.on('shard.lost', (e) => lost.push(e));
    m.start();
    await runFor(clock, 3000, () => owners([m]));
    expect(m.held().length).toBeGreaterThan(0);
    net.cut = true;
    const cutAt = clock.now();
    await runFor(clock, 4000, undefined, 100);
    expect(lost.map((e) => e.reason)).toEqual(['renew-deadline']);
    expect(lost[0]!.at - cutAt).toBeLessThanOrEqual(timing.renewDeadlineMs + 200);
    expect(m.held()).toEqual([]);
    expect([...m.released.keys()].length).toBeGreaterThan(0);
  });

  it('a replica that stops renewing (killed): its fleet stops writing, and the survivors apply its apps within about one lease duration', async () => {
    const ns = uniqueName('shard');
    await leaseNamespace(kc, ns);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: `${ns}-apps` } } });
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    const specs = memorySource(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`apps/app-${i}.yaml`, '{}\n'])));
    const replicas = ['replica-a', 'replica-b', 'replica-c'].map((identity) => {
      const net = cuttableTransport(kc);
      const shard = createShardMembership({ transport: net.transport, namespace: ns, group: 'fleet', identity, ...timing });
      const { sink, requests } = recordingSink(kc, { inventory: { namespace: ns } });
      const fleet = createFleet({
        name: 'fleet',
        source: specs,
        path: 'apps',
        sink,
        shard,
        intervalMs: 500,
        appDefaults: { intervalMs: 500, jitter: 0 },
        // Each replica writes its own name, so the live object says who applied it last.
        createApp: (spec) => {
          const state = desiredState([configMap(`${ns}-apps`, spec.name, { replica: identity })]);
          return { source: state.source, render: state.render };
        },
      });
      const lost: number[] = [];
      shard.on('shard.lost', () => lost.push(Date.now()));
      cleanups.push(async () => {
        await fleet.stop();
        await shard.stop();
        await sink.close();
        await net.transport.close();
      });
      shard.start();
      fleet.start();
      return { identity, net, shard, fleet, requests, lost };
    });
    const core = kc.makeApiClient(CoreV1Api);
    const appliedBy = async (): Promise<Map<string, string>> => {
      const list = await core.listNamespacedConfigMap({ namespace: `${ns}-apps` });
      return new Map(list.items.map((cm) => [cm.metadata!.name!, cm.data?.['replica'] ?? '']));
    };
    await eventually(async () => (await appliedBy()).size === 12, 30_000);
    const before = await appliedBy();
    const victim = replicas[0]!;
    const victimApps = [...before].filter(([, who]) => who === victim.identity).map(([app]) => app);
    expect(victimApps.length).toBeGreaterThan(0);

    victim.net.cut = true;
    const killedAt = Date.now();
    await eventually(async () => {
      const now = await appliedBy();
      return victimApps.every((app) => now.get(app) !== victim.identity);
    }, 20_000);
    const movedAfterMs = Date.now() - killedAt;
    expect(movedAfterMs).toBeLessThan(timing.leaseDurationMs + 6 * timing.retryPeriodMs + 3000);
    // The victim stopped itself at its renew deadline, before the others could drop its Lease
    // (a timer on a loaded machine may run late, but not by the gap between the two), and wrote
    // nothing afterwards.
    await eventually(() => victim.lost.length > 0, 5_000);
    expect(victim.lost).toHaveLength(1);
    expect(victim.lost[0]! - killedAt).toBeLessThan(timing.leaseDurationMs);
    const lateWrites = victim.requests.filter((r) => r.write && !r.dryRun);
    const writesAfterLoss = lateWrites.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(victim.requests.filter((r) => r.write && !r.dryRun)).toHaveLength(writesAfterLoss);
    // Apps that were not the victim's stayed where they were.
    const after = await appliedBy();
    for (const [app, who] of before) if (who !== victim.identity) expect(after.get(app)).toBe(who);
  }, 90_000);
});
