import type { ChangeCounts } from './change.js';
import type { ConvergeError } from './errors.js';
import type { Health } from './health/health-status.js';
import type { ObjectRef } from './object.js';

/** Why a pass runs. */
export type PassReason = 'start' | 'interval' | 'retry' | 'trigger' | 'drift' | 'manual' | (string & {});

/** Fields every event carries. */
export interface ReconcileEventBase {
  /** The reconciler's name. */
  reconciler: string;
  /** When the event happened (clock milliseconds). */
  at: number;
}

/**
 * Everything a reconciler reports, as a discriminated union on `type`. Secret values never
 * appear in events: objects are named by ref only.
 */
export type ReconcileEvent = ReconcileEventBase &
  (
    | { type: 'pass.started'; reason: PassReason }
    | { type: 'revision.checked'; revision: string; changed: boolean }
    | { type: 'rendered'; revision: string; objects: number; reused: boolean }
    | { type: 'gate.passed'; gate: string }
    | { type: 'gate.blocked'; gate: string; message: string }
    | { type: 'planned'; revision: string; counts: ChangeCounts; dryRun: boolean }
    | { type: 'object.applied'; ref: ObjectRef; action: 'create' | 'update'; dryRun: boolean }
    | { type: 'object.pruned'; ref: ObjectRef; dryRun: boolean }
    | { type: 'object.failed'; ref: ObjectRef; error: ConvergeError }
    | { type: 'object.orphaned'; ref: ObjectRef }
    /** A phase begins: hooks of `PreSync`/`PostSync`/`SyncFail`, or one wave of ordinary objects (`Sync`). Only when a pass has hooks or several waves. */
    | { type: 'phase.started'; phase: 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail'; wave?: number }
    /** A hook object was created (or, in a dry run, validated). */
    | { type: 'hook.applied'; phase: 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail'; ref: ObjectRef; dryRun: boolean }
    /** A hook finished. */
    | { type: 'hook.completed'; phase: 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail'; ref: ObjectRef; result: 'succeeded' | 'failed'; message: string }
    /** An object annotated as a hook Converge does not run (e.g. Helm's `pre-delete`) was left out. */
    | { type: 'hook.skipped'; ref: ObjectRef; reason: string }
    /** An object whose immutable fields changed was deleted and created again (it opted in). */
    | { type: 'object.recreated'; ref: ObjectRef; fields: string[] }
    /**
     * The recorded inventory held entries no valid object could have written (`dropped`; never
     * pruned), or could not be read at all (`unreadable`, why): then it was rebuilt from the
     * objects annotated with this reconciler's name (`Sink.findOwned`).
     */
    | { type: 'inventory.repaired'; dropped: string[]; unreadable?: string }
    /** The pass would delete more than the prune budget allows and stopped before writing anything. */
    | { type: 'prune.blocked'; revision: string; wouldDelete: number; allowed: number }
    | { type: 'drift.detected'; ref: ObjectRef; via: 'watch' | 'plan' }
    | { type: 'health.changed'; ref: ObjectRef; health: Health }
    | { type: 'pass.succeeded'; revision: string; counts: ChangeCounts; durationMs: number; driftCorrected: number }
    | { type: 'pass.failed'; revision?: string; error: ConvergeError; durationMs: number; retryInMs?: number }
    | { type: 'pass.skipped'; reason: 'suspended' | 'stopped' }
    | { type: 'suspended' }
    | { type: 'resumed' }
  );

/** The `type` of a {@link ReconcileEvent}. */
export type ReconcileEventType = ReconcileEvent['type'];

/** The event with a given `type`. */
export type ReconcileEventOf<T extends ReconcileEventType> = Extract<ReconcileEvent, { type: T }>;
