import type { ObjectRef } from '@converge/core';

/** An application as the fleet's record holds it: its name and, when pinned, its shard label. */
export interface RecordedApp {
  name: string;
  shard?: string | undefined;
}

/**
 * What a fleet keeps in its sink inventory (owner `fleet:<name>`), so that it survives restarts:
 * the applications it runs (to tear down one whose file went while no fleet ran) and the ones
 * suspended through `suspendApp` (so they stay suspended across spec changes and restarts).
 */
export interface FleetRecord {
  apps: RecordedApp[];
  suspended: string[];
}

const GROUP = 'converge.dev';
const APP = 'Application';
const SUSPENDED = 'SuspendedApplication';

/** The inventory refs of a record: an `Application` per app (namespace = shard label), a `SuspendedApplication` per suspension. */
export function recordRefs(record: FleetRecord): ObjectRef[] {
  return [
    ...record.apps.map((a) => ({ group: GROUP, kind: APP, name: a.name, ...(a.shard && { namespace: a.shard }) })),
    ...record.suspended.map((name) => ({ group: GROUP, kind: SUSPENDED, name })),
  ];
}

/** Reads a record back from its inventory refs (a record written before suspensions existed has `Application` refs only). */
export function recordOf(refs: readonly ObjectRef[]): FleetRecord {
  return {
    apps: refs.filter((r) => r.kind === APP).map((r) => ({ name: r.name, ...(r.namespace !== undefined && { shard: r.namespace }) })),
    suspended: refs.filter((r) => r.kind === SUSPENDED).map((r) => r.name),
  };
}

/** A stable text form of a record, to tell whether it changed. */
export function recordKey(record: FleetRecord): string {
  return JSON.stringify([[...new Set(record.apps.map((a) => a.name))].sort(), [...new Set(record.suspended)].sort()]);
}
