import { SourceError } from '../errors.js';
import { memoryFileTree } from '../memory-file-tree.js';
import type { Source } from '../source.js';

/** A {@link Source} held in memory whose files a test edits between passes. */
export interface MemorySource extends Source {
  /** The current revision: `r1` at first, one more after every change. */
  readonly revision: string;
  /** Writes (or replaces) a file: a new revision. */
  write(path: string, content: string | Uint8Array): void;
  /** Removes a file: a new revision. Removing a file that is not there changes nothing. */
  remove(path: string): void;
  /** Replaces every file at once: one new revision. */
  replace(files: Record<string, string | Uint8Array>): void;
  /** A copy of the current files. */
  files(): Record<string, string | Uint8Array>;
}

/**
 * An in-memory source for unit tests: start it with files, edit them between passes, and each
 * change is a new revision (`r1`, `r2`, …). `fetch(revision)` returns any revision it had, as it
 * was, like a git source; an unknown one fails with `REVISION_NOT_FOUND`.
 *
 * @example
 * ```ts
 * const source = memorySource({ 'app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: demo }\n' });
 * const r = createReconciler({ name: 'demo', source, render: yamlFiles(), sink: new MemorySink() });
 * await r.reconcile();
 * source.remove('app.yaml');
 * ```
 */
export function memorySource(initial: Record<string, string | Uint8Array> = {}, options: { id?: string } = {}): MemorySource {
  const id = options.id ?? 'memory';
  const history = new Map<string, Record<string, string | Uint8Array>>();
  let current = { ...initial };
  let count = 1;
  history.set('r1', { ...current });
  const commit = (next: Record<string, string | Uint8Array>): void => {
    current = next;
    history.set(`r${++count}`, { ...current });
  };
  return {
    id,
    get revision() {
      return `r${count}`;
    },
    latestRevision: async ({ signal } = {}) => {
      signal?.throwIfAborted();
      return `r${count}`;
    },
    fetch: async (revision = `r${count}`, { signal } = {}) => {
      signal?.throwIfAborted();
      const files = history.get(revision);
      if (!files) throw new SourceError('REVISION_NOT_FOUND', `memory source ${id} has no revision ${revision}`, { data: { revision } });
      return { source: id, revision, files: memoryFileTree(files) };
    },
    write: (path, content) => commit({ ...current, [path]: content }),
    remove(path) {
      if (!(path in current)) return;
      const { [path]: _removed, ...rest } = current;
      commit(rest);
    },
    replace: (files) => commit({ ...files }),
    files: () => ({ ...current }),
  };
}
