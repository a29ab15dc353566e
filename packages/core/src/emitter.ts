/** The event a listener of `type` receives: the member of `E` with that `type`, or any event for `'*'`. */
export type EventOf<E extends { type: string }, T extends E['type'] | '*'> = T extends E['type'] ? Extract<E, { type: T }> : E;

/**
 * Each member of the event union `E` without the fields `K` (those it has): what an emitting function takes
 * when it fills in the fields every event shares (who, when), so the union stays narrowed.
 *
 * @example
 * ```ts
 * type Ev = { type: 'a'; at: number } | { type: 'b'; at: number; reason: string };
 * const emit = (e: EventWithout<Ev, 'at'>) => emitter.emit({ ...e, at: clock.now() });
 * emit({ type: 'b', reason: 'stopped' });
 * ```
 */
export type EventWithout<E extends { type: string }, K extends PropertyKey> = E extends unknown ? Omit<E, K> : never;

/**
 * A typed event emitter for discriminated unions of events (a `type` field), as reconcilers,
 * fleets, leader electors and shard memberships use it. A listener that throws cannot break the
 * emitter or whoever emits (a renewal loop, a pass): its error becomes a process warning.
 *
 * @example
 * ```ts
 * type Ping = { type: 'ping'; at: number } | { type: 'pong'; at: number };
 * const events = new Emitter<Ping>();
 * const off = events.on('ping', (e) => console.log('ping at', e.at));
 * events.emit({ type: 'ping', at: Date.now() });
 * off();
 * ```
 */
export class Emitter<E extends { type: string }> {
  readonly #listeners = new Map<string, Set<(event: E) => void>>();

  /** Calls `fn` for every event of `type` (`'*'`: every event), narrowed to that type; returns the unsubscribe function. */
  on<T extends E['type'] | '*'>(type: T, fn: (event: EventOf<E, T>) => void): () => void {
    // Listeners are keyed by the type they narrow to, and `emit` calls them only with events of that type.
    const listener = fn as (event: E) => void;
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Calls the listeners of `event.type`, then the `'*'` listeners, in the order they subscribed. */
  emit(event: E): void {
    for (const key of [event.type, '*']) {
      for (const fn of this.#listeners.get(key) ?? []) {
        try {
          fn(event);
        } catch (error) {
          process.emitWarning(`converge: a listener for ${event.type} threw: ${String(error)}`);
        }
      }
    }
  }
}
