import { createHash } from 'node:crypto';

/** One live replica taking part in a sharded fleet. */
export interface ShardMember {
  /** The replica's identity, unique among the members (e.g. its pod name). */
  id: string;
  /**
   * The shard label this replica serves, like Flux's `sharding.fluxcd.io/key`: a replica with a
   * label runs only applications pinned to that label; one without runs every unpinned one.
   * @default none
   */
  shard?: string | undefined;
}

/** An application to place, as far as placement cares. */
export interface ShardedApp {
  /** The application's name: the hashing key. */
  name: string;
  /** Pins the application to the members serving this shard label. @default none: any unlabelled member */
  shard?: string | undefined;
}

/** The weight of `member` for `app`: the first 8 bytes of SHA-256 over both names. */
function weight(app: string, member: string): bigint {
  return createHash('sha256').update(app).update('\0').update(member).digest().readBigUInt64BE(0);
}

/**
 * The member that runs `app`, by rendezvous (highest-random-weight) hashing: every eligible
 * member gets a pseudo-random weight for the app and the highest wins. Every replica that sees
 * the same members computes the same owner without talking to the others, and when a member
 * joins or leaves only the applications it wins or held move; the rest stay put. Eligible
 * members are those with the app's shard label, or without a label for an unpinned app.
 * `undefined` when no member is eligible (nobody serves that label).
 *
 * @example
 * ```ts
 * rendezvousOwner({ name: 'shop' }, [{ id: 'agent-0' }, { id: 'agent-1' }]); // 'agent-0' or 'agent-1', the same everywhere
 * ```
 */
export function rendezvousOwner(app: ShardedApp, members: readonly ShardMember[]): string | undefined {
  let best: { id: string; w: bigint } | undefined;
  for (const member of members) {
    if ((member.shard ?? undefined) !== (app.shard ?? undefined)) continue;
    const w = weight(app.name, member.id);
    if (!best || w > best.w || (w === best.w && member.id < best.id)) best = { id: member.id, w };
  }
  return best?.id;
}

/**
 * Places every app with {@link rendezvousOwner}: app name → member id, or `undefined` for an app
 * no member may run. Pure: the same members and apps give the same map on every replica.
 */
export function assignApps(apps: readonly ShardedApp[], members: readonly ShardMember[]): Map<string, string | undefined> {
  return new Map(apps.map((app) => [app.name, rendezvousOwner(app, members)]));
}
