import type { ConvergeError, PassReason, ReconcileEvent } from '@converge/core';

/** Fields every event of the fleet itself carries. */
export interface FleetEventBase {
  /** The fleet's name. */
  fleet: string;
  /** When the event happened (clock milliseconds). */
  at: number;
}

/** Fields every application lifecycle event carries. */
export interface AppEventBase extends FleetEventBase {
  /** The application's name (its spec's `name`). */
  app: string;
  /** The name of the application's reconciler, `<fleet>-<app>`: its own events carry it as `reconciler`. */
  reconciler: string;
}

/**
 * What the fleet itself reports, as a discriminated union on `type`: its own passes over the
 * spec folder (`fleet.*`) and the life of its applications (`app.*`).
 */
export type FleetOwnEvent =
  | (FleetEventBase &
      (
        | { type: 'fleet.pass.started'; reason: PassReason }
        /** The spec folder was read and every application added, reconfigured or removed as it says. */
        | { type: 'fleet.pass.succeeded'; revision: string; apps: number; added: string[]; updated: string[]; removed: string[]; durationMs: number }
        /** The spec folder could not be read or is invalid: every application was left as it was. */
        | { type: 'fleet.pass.failed'; revision?: string; error: ConvergeError; durationMs: number; retryInMs?: number }
        | { type: 'fleet.suspended' }
        | { type: 'fleet.resumed' }
      ))
  | (AppEventBase &
      (
        | { type: 'app.added' }
        | { type: 'app.updated' }
        | { type: 'app.removed' }
        /** Tearing a removed application down failed; the fleet tries again at its next pass. */
        | { type: 'app.removeFailed'; error: ConvergeError }
        /** Suspended by {@link Fleet.suspendApp}, recorded so it lasts across spec changes and restarts. */
        | { type: 'app.suspended' }
        /** Resumed by {@link Fleet.resumeApp}. */
        | { type: 'app.resumed' }
      ));

/**
 * Everything a fleet reports: its own events and, forwarded, every application reconciler's
 * events (whose `reconciler` is `<fleet>-<app>`). `Fleet.on(type, fn)` narrows `fn`'s event by `type`.
 */
export type FleetEvent = FleetOwnEvent | ReconcileEvent;

/** The `type` of a {@link FleetEvent}. */
export type FleetEventType = FleetEvent['type'];

/** The fleet event with a given `type`, or every event for `'*'`. */
export type FleetEventOf<T extends FleetEventType | '*'> = T extends FleetEventType ? Extract<FleetEvent, { type: T }> : FleetEvent;
