import { toConvergeError, type ConvergeError } from '../errors.js';
import type { ReconcileEvent } from '../events.js';
import { refKey, type ObjectRef } from '../object.js';
import type { Reconciler } from '../reconciler.js';
import type { Notification, NotificationType, Notifier } from './notifier.js';

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
 * reverted drift (`drift-corrected`). Notifications go out one at a time, in order; a failing
 * notifier is reported to `onError` and never breaks or slows the reconciler.
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
export function notifyOn(reconciler: Pick<Reconciler, 'on' | 'status'>, notifier: Notifier, options: NotifyOnOptions = {}): NotifySubscription {
  const types = new Set(options.types ?? ['failed', 'recovered', 'drift-corrected']);
  const every = options.every ?? false;
  const onError = options.onError ?? ((error) => process.emitWarning(`converge: notification failed: ${error.message}`));

  // A reconciler that is already failing when we subscribe does not announce that again.
  let failures = reconciler.status().consecutiveFailures;
  let drifted = new Map<string, ObjectRef>();
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

  const off = reconciler.on('*', (event: ReconcileEvent) => {
    const base = { reconciler: event.reconciler, at: event.at };
    switch (event.type) {
      case 'pass.started':
        drifted = new Map();
        break;
      case 'drift.detected':
        // The plan names what this pass puts back; watch events only say that something moved.
        if (event.via === 'plan') drifted.set(refKey(event.ref), event.ref);
        break;
      case 'pass.failed':
        failures++;
        if (failures === 1 || every) {
          send({ ...base, type: 'failed', ...(event.revision && { revision: event.revision }), error: { code: event.error.code, message: event.error.message }, failures });
        }
        break;
      case 'pass.succeeded':
        if (failures > 0) send({ ...base, type: 'recovered', revision: event.revision, failures });
        failures = 0;
        if (event.driftCorrected > 0) send({ ...base, type: 'drift-corrected', revision: event.revision, count: event.driftCorrected, objects: [...drifted.values()] });
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
