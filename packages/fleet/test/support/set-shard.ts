import type { FleetShard, ShardedFleet } from '@converge/core';

/**
 * A shard that owns exactly the names in `owned` (a test adds and deletes them) and keeps the
 * fleet it is attached to, so the test can call `release` and `changed` as a membership would.
 */
export function setShard(owned: Set<string>): { shard: FleetShard; fleet: () => ShardedFleet | undefined } {
  let attached: ShardedFleet | undefined;
  const shard: FleetShard = {
    owns: (app) => owned.has(app.name),
    attach: (fleet) => {
      attached = fleet;
      return () => undefined;
    },
  };
  return { shard, fleet: () => attached };
}
