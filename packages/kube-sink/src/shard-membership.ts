import { Emitter, rendezvousOwner, sleep, systemClock, toConvergeError, type Clock, type ConvergeError, type EventWithout, type FleetShard, type ShardedApp, type ShardedFleet, type ShardMember, type TimerHandle } from '@converge/core';
import { LeaseClient, LeaseObserver, LeaseOptionsError, leaseTransport, microTime, resolveLeaseTiming, type Lease, type LeaseConnection, type LeaseTiming } from './lease.js';

/** Label on every membership Lease naming its group (the fleet). */
export const SHARD_GROUP_LABEL = 'converge.dev/shard-group';
/** Label on a membership Lease naming the shard label its replica serves, if any. */
export const SHARD_LABEL = 'converge.dev/shard';
/** Annotation in which a member publishes the membership it has handed over for. */
export const SHARD_VIEW_ANNOTATION = 'converge.dev/shard-view';

/** Options of {@link createShardMembership}. */
export type ShardMembershipOptions = LeaseConnection &
  LeaseTiming & {
    /** Namespace of the membership Leases; it must exist. */
    namespace: string;
    /** The group of replicas sharing the work, usually the fleet's name; each member's Lease is `<group>-<identity>`. */
    group: string;
    /** This replica's identity, unique in the group (e.g. the pod name); a DNS label. */
    identity: string;
    /** The shard label this replica serves (apps pinned with `shard:` in their spec); none serves unpinned apps. @default none */
    shard?: string;
    /** @default systemClock */
    clock?: Clock;
    /** Randomness in [0, 1) for the jitter of renewals. @default Math.random */
    random?: () => number;
  };

/**
 * Events of a {@link ShardMembership}. `shard.lost` comes when the membership ends (at the renew
 * deadline, or on `stop()`), before the apps it held are released; `shard.released` once they are.
 */
export type ShardEvent =
  | { type: 'shard.view'; identity: string; at: number; members: ShardMember[] }
  | { type: 'shard.settled'; identity: string; at: number; members: ShardMember[] }
  | { type: 'shard.released'; identity: string; at: number; apps: string[] }
  | { type: 'shard.lost'; identity: string; at: number; reason: 'renew-deadline' | 'stopped' }
  | { type: 'lease.failed'; identity: string; at: number; error: ConvergeError };

/** The `type` of a {@link ShardEvent}. */
export type ShardEventType = ShardEvent['type'];

/** One replica's membership in a sharded group, and the `FleetShard` (from `@converge/core`) a fleet uses. */
export interface ShardMembership extends FleetShard {
  /** This replica's identity. */
  readonly identity: string;
  /** Joins: creates and renews this replica's Lease, watches the others'. */
  start(): void;
  /** Releases every application (the fleet stops them), then deletes this replica's Lease so the others take over at once. */
  stop(): Promise<void>;
  /** The live members as this replica last saw them, sorted by id. */
  members(): ShardMember[];
  /** Whether this replica's membership Lease was renewed less than `renewDeadlineMs` ago. */
  isMember(): boolean;
  /** The applications this replica holds now. */
  held(): string[];
  /** Subscribes to one event type or `'*'`; returns the unsubscribe function. */
  on<T extends ShardEventType | '*'>(type: T, fn: (event: T extends ShardEventType ? Extract<ShardEvent, { type: T }> : ShardEvent) => void): () => void;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const viewKey = (members: readonly ShardMember[]): string => members.map((m) => `${m.id}${m.shard ? `=${m.shard}` : ''}`).join(',');

/**
 * Shards a fleet over replicas: each replica holds a membership Lease
 * (`<group>-<identity>`, renewed like a leader's), and every application goes to one live member
 * by rendezvous hashing (`rendezvousOwner`), so a joining or leaving replica moves only its
 * share. Pass it as the fleet's `shard`.
 *
 * Hand-over is two-phase, so an application never has two writers. When a member sees the
 * membership change it first releases (stops) the applications it no longer owns, then
 * publishes the new membership in its Lease (`converge.dev/shard-view`). A member starts a
 * newly assigned application only once every live member has published that same membership,
 * i.e. has stopped what it gave up. A member that vanishes is dropped once its Lease has not
 * changed for `leaseDurationMs`; it stopped itself at `renewDeadlineMs` (fencing by timing, the
 * caveats of `createLeaderElector` apply). Applications move within a few retry periods of a
 * graceful change, and within one lease duration (plus those periods) of a crash.
 *
 * @example
 * ```ts
 * const shard = createShardMembership({ kubeConfig, namespace: 'converge-system', group: 'apps', identity: process.env.POD_NAME! });
 * const fleet = createFleet({ name: 'apps', source, path: 'apps', sink, createApp, shard });
 * shard.start();
 * fleet.start();
 * ```
 */
export function createShardMembership(options: ShardMembershipOptions): ShardMembership {
  const timing = resolveLeaseTiming(options);
  const { namespace, group, identity: me } = options;
  if (!DNS_LABEL.test(group) || group.length > 63) throw new LeaseOptionsError(`group ${JSON.stringify(group)} must be a DNS label of at most 63 characters`);
  if (!DNS_LABEL.test(me) || `${group}-${me}`.length > 253) throw new LeaseOptionsError(`identity ${JSON.stringify(me)} must be a DNS label (and <group>-<identity> at most 253 characters)`);
  if (options.shard !== undefined && !DNS_LABEL.test(options.shard)) throw new LeaseOptionsError(`shard ${JSON.stringify(options.shard)} must be a DNS label`);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const leaseName = `${group}-${me}`;
  const { transport, owned } = leaseTransport(options);
  const client = new LeaseClient(transport);
  const observer = new LeaseObserver();
  const listeners = new Emitter<ShardEvent>();
  const fleets = new Set<ShardedFleet>();
  const held = new Map<string, ShardedApp>();
  const self: ShardMember = { id: me, ...(options.shard !== undefined && { shard: options.shard }) };

  let own: Lease | undefined;
  let renewedAt = Number.NEGATIVE_INFINITY;
  let view: ShardMember[] = [];
  let key = '';
  /** Whether every live member has published `key` (so each stopped what it gave up under it). */
  let settled = false;
  let running: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let deadline: TimerHandle | undefined;

  const emit = (event: EventWithout<ShardEvent, 'identity' | 'at'>): void => listeners.emit({ ...event, identity: me, at: clock.now() });
  const fresh = (): boolean => running !== undefined && clock.now() < renewedAt + timing.renewDeadlineMs;

  async function release(apps: string[]): Promise<void> {
    if (apps.length === 0) return;
    for (const app of apps) held.delete(app); // guards fail from here on
    await Promise.all([...fleets].map((f) => f.release(apps)));
    emit({ type: 'shard.released', apps });
  }

  async function lose(reason: 'renew-deadline' | 'stopped'): Promise<void> {
    if (deadline !== undefined) clock.clearTimeout(deadline);
    deadline = undefined;
    const hadView = key !== '';
    key = '';
    view = [];
    settled = false;
    // Said when it happened (its `at` is the loss, not the end of the apps' release, which waits
    // for their passes to stop); `shard.released` follows once they have.
    if (hadView || reason === 'stopped') emit({ type: 'shard.lost', reason });
    await release([...held.keys()]);
  }

  /** Creates or renews this replica's Lease, publishing the membership it has handed over for. */
  async function renew(signal: AbortSignal): Promise<boolean> {
    const sentAt = clock.now();
    const now = microTime(clock.now());
    const metadata = {
      namespace,
      name: leaseName,
      labels: { [SHARD_GROUP_LABEL]: group, ...(options.shard !== undefined && { [SHARD_LABEL]: options.shard }) },
      annotations: { [SHARD_VIEW_ANNOTATION]: key },
    };
    const spec = { holderIdentity: me, leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000), renewTime: now, acquireTime: own?.spec.acquireTime ?? now };
    const written = own
      ? await client.update({ ...own, metadata: { ...own.metadata, ...metadata }, spec: { ...own.spec, ...spec } }, signal)
      : await client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec }, signal);
    if (!written.ok) {
      // Created by an earlier run of this identity, or deleted meanwhile: read it again next time.
      own = await client.get(namespace, leaseName, signal);
      return false;
    }
    own = written.lease;
    renewedAt = sentAt;
    armDeadline();
    return true;
  }

  /**
   * Ends the membership at the renew deadline unless a renewal moved it. A timer can fire a
   * millisecond before the wall clock reaches the deadline (Node's timers run on a monotonic
   * clock of their own), so a timer that finds the membership still fresh waits again instead of
   * dropping the deadline, which would have left the loss unsaid and the apps held.
   */
  function armDeadline(): void {
    if (deadline !== undefined) clock.clearTimeout(deadline);
    deadline = clock.setTimeout(() => {
      deadline = undefined;
      if (running === undefined) return;
      if (fresh()) armDeadline();
      else void lose('renew-deadline');
    }, Math.max(1, renewedAt + timing.renewDeadlineMs - clock.now()));
  }

  async function tick(signal: AbortSignal): Promise<void> {
    if (!(await renew(signal)) || !fresh()) return;
    const leases = await client.list(namespace, `${SHARD_GROUP_LABEL}=${group}`, signal);
    observer.retain(leases);
    const now = clock.now();
    const live = leases.filter((l) => l.metadata.name !== leaseName && observer.held(l, now, timing.leaseDurationMs));
    const members = [self, ...live.map((l) => ({ id: l.spec.holderIdentity!, ...(l.metadata.labels?.[SHARD_LABEL] !== undefined && { shard: l.metadata.labels[SHARD_LABEL] }) }))].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const next = viewKey(members);
    if (next !== key) {
      view = members;
      key = next;
      settled = false;
      emit({ type: 'shard.view', members });
      // Give up first, then say so: others start these apps only once this Lease shows `key`.
      await release([...held].filter(([, app]) => rendezvousOwner(app, view) !== me).map(([name]) => name));
      await renew(signal);
      return;
    }
    const all = live.every((l) => l.metadata.annotations?.[SHARD_VIEW_ANNOTATION] === key);
    if (all && !settled) {
      settled = true;
      emit({ type: 'shard.settled', members: view });
      for (const f of fleets) f.changed();
    } else if (!all) settled = false;
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await tick(signal);
      } catch (error) {
        if (signal.aborted) return;
        emit({ type: 'lease.failed', error: toConvergeError(error) });
      }
      await sleep(clock, timing.retryPeriodMs * (1 + 0.2 * random()), signal).catch(() => undefined);
    }
  }

  return {
    identity: me,
    start() {
      if (running) return;
      running = new AbortController();
      loop = run(running.signal);
    },
    async stop() {
      const controller = running;
      running = undefined;
      controller?.abort(new DOMException('the membership was stopped', 'AbortError'));
      await loop;
      loop = undefined;
      await lose('stopped');
      const version = own?.metadata.resourceVersion;
      if (version !== undefined) {
        try {
          await client.delete(namespace, leaseName, version);
        } catch (error) {
          emit({ type: 'lease.failed', error: toConvergeError(error) });
        }
      }
      own = undefined;
      if (owned) await transport.close();
    },
    members: () => view.map((m) => ({ ...m })),
    isMember: fresh,
    held: () => [...held.keys()],
    owns(app) {
      if (!fresh() || key === '') return false;
      const mine = held.get(app.name);
      if (mine) return (mine.shard ?? undefined) === (app.shard ?? undefined) || rendezvousOwner(app, view) === me;
      if (!settled || rendezvousOwner(app, view) !== me) return false;
      held.set(app.name, { name: app.name, ...(app.shard !== undefined && { shard: app.shard }) });
      return true;
    },
    attach(fleet) {
      fleets.add(fleet);
      return () => void fleets.delete(fleet);
    },
    describe: () => `shard member ${me} of ${group} (${view.length} live member(s)${settled ? '' : ', hand-over in progress'})`,
    on: (type, fn) => listeners.on(type, fn),
  };
}
