import type { ShardedApp } from './rendezvous.js';

/**
 * The fleet side of a shard: what a {@link FleetShard} asks of the fleet it places
 * applications for.
 */
export interface ShardedFleet {
  /**
   * Stops these applications (a pass in flight is cancelled) and resolves when none of them
   * can write any more. The shard calls it before it lets another replica take them.
   */
  release(apps: readonly string[]): Promise<void>;
  /** This replica may run more applications than before: the fleet starts them at its next pass, which this asks for. */
  changed(): void;
}

/**
 * Decides which of a fleet's applications this replica runs, when one fleet is spread over
 * several replicas (`createShardMembership` in `@converge/kube-sink`: membership Leases and
 * rendezvous hashing). Core only knows this interface.
 *
 * The contract the fleet relies on: an application is owned by at most one replica at a time.
 * The shard takes an application away by calling {@link ShardedFleet.release} (and only lets
 * another replica have it once that resolved, or once this replica's lease has expired), and
 * `owns` turns `false` for everything on its own when the shard can no longer prove its
 * membership (lease not renewed in time).
 */
export interface FleetShard {
  /**
   * Whether this replica runs `app` now. The fleet asks it at every pass for every
   * application and before every write of that application (it is the child's write guard),
   * and also for its own record (`{ name: 'fleet:<name>' }`), which one replica keeps.
   */
  owns(app: ShardedApp): boolean;
  /** Connects the fleet, once; returns the function that disconnects it. */
  attach(fleet: ShardedFleet): () => void;
  /** Optional: who holds what, for error messages. */
  describe?(): string;
}
