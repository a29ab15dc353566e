import type { ChangeCounts } from './change.js';
import type { ConvergeError } from './errors.js';

/** What a reconciler is doing. */
export type ReconcilerPhase = 'idle' | 'queued' | 'reconciling' | 'backoff' | 'suspended' | 'stopped';

/**
 * The result of one pass, a discriminated union on `status`: a success has its revision, a
 * failure its error. Fields a status never has are typed `undefined`, so `result.error?.code`
 * reads naturally on any result.
 */
export type ReconcileResult =
  | {
      status: 'succeeded';
      /** The revision the target now matches. */
      revision: string;
      counts: ChangeCounts;
      /** Updates made to objects whose revision had not changed: drift that was reverted. */
      driftCorrected: number;
      /** Whether nothing was persisted (`dryRun`). */
      dryRun: boolean;
      error?: undefined;
    }
  | {
      status: 'failed';
      /** The revision the pass worked on, once known. */
      revision?: string;
      counts: ChangeCounts;
      /** Why the pass failed. */
      error: ConvergeError;
      driftCorrected?: undefined;
      dryRun?: undefined;
    }
  | {
      /** The reconciler was suspended, or stopped with `abort`, before the pass started: nothing was done. */
      status: 'skipped';
      counts: ChangeCounts;
      revision?: undefined;
      error?: undefined;
      driftCorrected?: undefined;
      dryRun?: undefined;
    };

/** One pass as kept in {@link ReconcilerStatus.history}. */
export interface PassRecord {
  result: ReconcileResult['status'];
  reason: string;
  revision?: string;
  startedAt: number;
  durationMs: number;
  counts: ChangeCounts;
  error?: { code: string; message: string };
}

/** A snapshot of a reconciler's state. */
export interface ReconcilerStatus {
  name: string;
  phase: ReconcilerPhase;
  suspended: boolean;
  /** The revision of the last successful pass: what the target is known to match. */
  lastAppliedRevision?: string;
  /** The revision of the last pass, successful or not. */
  lastAttemptedRevision?: string;
  /** The error of the last pass, cleared by a successful one. */
  lastError?: ConvergeError;
  /** Failures in a row since the last success. */
  consecutiveFailures: number;
  /** When the next automatic pass is due (clock ms), while running. */
  nextRunAt?: number;
  /** How many objects the last successful pass left under management. */
  managedObjects: number;
  /** The last 10 passes, newest last. */
  history: PassRecord[];
}
