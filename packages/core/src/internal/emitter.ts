/** A typed event emitter whose listeners cannot break the emitter: a throwing listener becomes a process warning. */
export class Emitter<E extends { type: string }> {
  readonly #listeners = new Map<string, Set<(event: E) => void>>();

  on(type: E['type'] | '*', fn: (event: E) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

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
