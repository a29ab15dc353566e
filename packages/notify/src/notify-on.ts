import { refKey, toConvergeError, type ConvergeError, type ObjectRef, type ReconcileEvent } from '@converge/core';
import type { Notification, NotificationType, Notifier } from './notifier.js';

/**
 * A fleet's own pass outcome, as {@link notifyOn} reads it: `@converge/fleet` emits these
 * (with more fields) for its passes over the spec folder. Declared here so that notify needs
 * no fleet.
 */
export type FleetPassEvent =
  | { type: 'fleet.pass.failed'; fleet: string; at: number; revision?: string; error: ConvergeError }
  | { type: 'fleet.pass.succeeded'; fleet: string; at: number; revision: string };

/** The events {@link notifyOn} acts on; it ignores every other event its source reports. */
export type NotifiableEvent = ReconcileEvent | FleetPassEvent;

/**
 * Anything that reports events through `on('*', fn)`: a `Reconciler`, a `Fleet` (its own
 * passes and every application's events), or a runtime of your own.
 */
export interface NotifySource {
  /** Subscribes to every event; returns the unsubscribe function. */
  on(type: '*', fn: (event: { type: string }) => void): () => void;
  /**
   * Optional: the state when {@link notifyOn} subscribes, so that a reconciler (or a fleet,
   * and each of its applications) already failing is not announced again.
   */
  status?(): { name: string; consecutiveFailures: number; apps?: Record<string, { name: string; consecutiveFailures: number }> };
}

const NOTIFIABLE: ReadonlySet<string> = new Set<NotifiableEvent['type']>(['pass.started', 'drift.detected', 'pass.failed', 'pass.succeeded', 'fleet.pass.failed', 'fleet.pass.succeeded']);

function isNotifiable(event: { type: string }): event is NotifiableEvent {
  return NOTIFIABLE.has(event.type);
}

/** Options of {@link notifyOn}. */
export interface NotifyOnOptions {
  /** Which notifications to send. @default ['failed', 'recovered', 'drift-corrected'] */
  types?: readonly NotificationType[];
  /**
   * Send `failed` for every failed pass instead of once per failure streak (the first failure
   * after a success). A retrying reconciler may fail every few seconds, hence the default.
   * @default false
   */
  every?: boolean;
  /**
   * Called when the notifier rejects (after its own retries). Notification errors never reach
   * the reconciler.
   * @default emits a process warning with the error's message
   */
  onError?: (error: ConvergeError, notification: Notification) => void;
}

/** Stops {@link notifyOn}; `flush()` resolves once the notifications already started are delivered or given up. */
export interface NotifySubscription {
  (): void;
  /** Waits for notifications in flight, e.g. before a graceful shutdown. */
  flush(): Promise<void>;
}

/**
 * Sends a reconciler's noteworthy moments to a notifier: a failed pass (once per failure
 * streak unless `every`), the first success after failures (`recovered`), and a pass that
 * reverted drift (`drift-corrected`). Given a fleet, it does so for each application (each with
 * its own streak, kept across the reconcilers a spec change replaces) and for the fleet's own
 * passes (`failed` and `recovered`, named by the fleet). Notifications go out one at a time,
 * in order; a failing notifier is reported to `onError` and never breaks or slows the reconciler.
 *
 * @returns an unsubscribe function, with `flush()` to await deliveries in flight.
 *
 * @example
 * ```ts
 * const stop = notifyOn(reconciler, webhookNotifier({ url: 'https://hooks.example.com/converge', secret }), {
 *   onError: (e) => console.warn(e.code, e.message),
 * });
 * // on shutdown:
 * stop();
 * await stop.flush();
 * ```
 */
export function notifyOn(source: NotifySource, notifier: Notifier, options: NotifyOnOptions = {}): NotifySubscription {
  const types = new Set(options.types ?? ['failed', 'recovered', 'drift-corrected']);
  const every = options.every ?? false;
  const onError = options.onError ?? ((error) => process.emitWarning(`converge: notification failed: ${error.message}`));

  // Failed passes in a row, per reconciler (or fleet) name. One already failing when we
  // subscribe does not announce that again.
  const failures = new Map<string, number>();
  const initial = source.status?.();
  for (const status of [...(initial ? [initial] : []), ...Object.values(initial?.apps ?? {})]) failures.set(status.name, status.consecutiveFailures);
  /** What the pass in flight put back, per reconciler. */
  const drifted = new Map<string, Map<string, ObjectRef>>();
  let queue: Promise<void> = Promise.resolve();

  const send = (notification: Notification) => {
    if (!types.has(notification.type)) return;
    queue = queue.then(async () => {
      try {
        await notifier.notify(notification);
      } catch (thrown) {
        try {
          onError(toConvergeError(thrown), notification);
        } catch {
          // an error handler that throws must not break the chain either
        }
      }
    });
  };

  const failed = (name: string, at: number, error: ConvergeError, revision: string | undefined) => {
    const count = (failures.get(name) ?? 0) + 1;
    failures.set(name, count);
    if (count === 1 || every) send({ reconciler: name, at, type: 'failed', ...(revision && { revision }), error: { code: error.code, message: error.message }, failures: count });
  };
  const succeeded = (name: string, at: number, revision: string) => {
    const count = failures.get(name) ?? 0;
    if (count > 0) send({ reconciler: name, at, type: 'recovered', revision, failures: count });
    failures.delete(name);
  };

  const off = source.on('*', (event) => {
    if (!isNotifiable(event)) return;
    switch (event.type) {
      case 'pass.started':
        drifted.set(event.reconciler, new Map());
        break;
      case 'drift.detected':
        // The plan names what this pass puts back; watch events only say that something moved.
        if (event.via === 'plan') drifted.get(event.reconciler)?.set(refKey(event.ref), event.ref);
        break;
      case 'pass.failed':
        drifted.delete(event.reconciler);
        failed(event.reconciler, event.at, event.error, event.revision);
        break;
      case 'pass.succeeded': {
        succeeded(event.reconciler, event.at, event.revision);
        const objects = [...(drifted.get(event.reconciler)?.values() ?? [])];
        drifted.delete(event.reconciler);
        if (event.driftCorrected > 0) send({ reconciler: event.reconciler, at: event.at, type: 'drift-corrected', revision: event.revision, count: event.driftCorrected, objects });
        break;
      }
      case 'fleet.pass.failed':
        failed(event.fleet, event.at, event.error, event.revision);
        break;
      case 'fleet.pass.succeeded':
        succeeded(event.fleet, event.at, event.revision);
        break;
    }
  });

  const subscription = () => off();
  subscription.flush = async () => {
    let current: Promise<void>;
    do {
      current = queue;
      await current;
    } while (current !== queue);
  };
  return subscription;
}
