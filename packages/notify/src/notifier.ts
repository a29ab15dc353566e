import type { ObjectRef } from '@converge/core';

/** What a {@link Notification} is about. */
export type NotificationType = 'failed' | 'recovered' | 'drift-corrected';

/** Fields every notification carries. */
export interface NotificationBase {
  /** The reconciler's name. */
  reconciler: string;
  /** The revision the pass worked on, once known. */
  revision?: string;
  /** When it happened (clock milliseconds since the epoch). */
  at: number;
}

/**
 * Something a person should hear about, as a discriminated union on `type`. It carries object
 * refs and an error's code and message only: never object contents, so never Secret values.
 */
export type Notification = NotificationBase &
  (
    | {
        /** A pass failed. */
        type: 'failed';
        error: { code: string; message: string };
        /** Failed passes in a row so far, this one included. */
        failures: number;
      }
    | {
        /** The first successful pass after one or more failed ones. */
        type: 'recovered';
        /** How many passes in a row had failed before. */
        failures: number;
      }
    | {
        /** A pass reverted changes made to live objects behind the reconciler's back. */
        type: 'drift-corrected';
        /** How many objects were put back. */
        count: number;
        /** The objects put back, when known. */
        objects: ObjectRef[];
      }
  );

/** Delivers notifications somewhere: a webhook, a chat, a pager. */
export interface Notifier {
  /** Delivers one notification; rejects when it could not be delivered. */
  notify(notification: Notification): Promise<void>;
}
