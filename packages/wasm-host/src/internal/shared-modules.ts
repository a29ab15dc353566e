/** One holder's claim on a shared value; {@link ModuleLease.release} is idempotent. */
export interface ModuleLease<M> {
  readonly key: string;
  readonly module: Promise<M>;
  release(): void;
}

interface Entry<M> {
  module: Promise<M>;
  holders: number;
}

/**
 * Compiled modules shared by every host in the process that runs the same engine with the same
 * memory cap, kept only while a host holds them. A compiled engine holds ~100 MiB (its module
 * bytes and machine code), so an idle process keeps none, and two hosts of one engine keep one.
 * A module that fails to load is forgotten at once, so the next claim loads it again.
 */
export class SharedModules<M> {
  readonly #entries = new Map<string, Entry<M>>();

  /** How many modules are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Claims the module under `key`, loading it with `load` when no one holds it. */
  claim(key: string, load: () => Promise<M>): ModuleLease<M> {
    let entry = this.#entries.get(key);
    if (!entry) {
      const created: Entry<M> = { module: load(), holders: 0 };
      created.module.catch(() => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      });
      this.#entries.set(key, created);
      entry = created;
    }
    const held = entry;
    held.holders++;
    let released = false;
    return {
      key,
      module: held.module,
      release: () => {
        if (released) return;
        released = true;
        held.holders--;
        if (held.holders === 0 && this.#entries.get(key) === held) this.#entries.delete(key);
      },
    };
  }
}
