/**
 * Typed event listeners by `type` (or `'*'`) for the elector and shard membership. A throwing
 * listener becomes a process warning and cannot stop a renewal loop.
 */
export class Listeners<E extends { type: string }> {
  readonly #byType = new Map<string, Set<(event: E) => void>>();

  on(type: E['type'] | '*', fn: (event: E) => void): () => void {
    const set = this.#byType.get(type) ?? new Set();
    this.#byType.set(type, set);
    set.add(fn);
    return () => void set.delete(fn);
  }

  emit(event: E): void {
    const fns = [...(this.#byType.get(event.type) ?? []), ...(this.#byType.get('*') ?? [])];
    for (const fn of fns) {
      try {
        fn(event);
      } catch (error) {
        process.emitWarning(`converge: a listener for ${event.type} threw: ${String(error)}`);
      }
    }
  }
}
