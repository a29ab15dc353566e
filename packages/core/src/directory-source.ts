import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import picomatch from 'picomatch';
import { AbortedError, ConvergeError, SourceError } from './errors.js';
import type { FileTree } from './file-tree.js';
import { directoryFileTree } from './directory-file-tree.js';
import { memoryFileTree } from './memory-file-tree.js';
import type { Source, SourceCallOptions } from './source.js';

/** Options for {@link directorySource}. */
export interface DirectorySourceOptions {
  /**
   * Globs (picomatch, matched against paths relative to the directory) of files to leave out
   * of artifacts and of the revision digest, so editing them does not trigger a pass.
   * `.git` is always left out.
   * @default []
   */
  exclude?: string[];
}

/**
 * A {@link Source} reading a local directory: handy for CI push steps (the checkout is already
 * there), demos and tests.
 *
 * The revision is `sha256:<hex>`, a digest of every file's path and bytes, so an unchanged
 * directory always has the same revision and any edit, addition or removal changes it.
 * `latestRevision()` reads every file to compute it. `fetch()` copies the files into memory:
 * the artifact stays as it was even if the directory changes afterwards. Asking `fetch` for a
 * revision the directory no longer has fails with code `REVISION_NOT_FOUND`.
 *
 * The directory is read through {@link directoryFileTree}, so symlinks out of it are refused.
 *
 * @param path - the directory; relative paths resolve against the working directory.
 * @example
 * ```ts
 * const reconciler = createReconciler({ name: 'web', source: directorySource('./deploy'), render: yamlFiles(), sink });
 * ```
 */
export function directorySource(path: string, options: DirectorySourceOptions = {}): Source {
  const root = resolve(path);
  const id = `dir:${root}`;
  const tree = directoryFileTree(root);
  const excluded = options.exclude?.length ? picomatch(options.exclude, { dot: true }) : () => false;

  async function snapshot(signal: AbortSignal | undefined, keep: boolean): Promise<{ revision: string; files: Map<string, Uint8Array> }> {
    let paths: string[];
    try {
      paths = await tree.list();
    } catch (error) {
      if (error instanceof ConvergeError && error.code === 'FILE_NOT_FOUND') {
        throw new SourceError('SOURCE_NOT_FOUND', `${id}: directory ${root} does not exist or is not a directory; check the path`, { cause: error });
      }
      throw error;
    }
    const files = new Map<string, Uint8Array>();
    const hash = createHash('sha256');
    for (const file of paths) {
      if (excluded(file)) continue;
      if (signal?.aborted) throw new AbortedError(`${id}: reading the directory was aborted`);
      const bytes = await tree.read(file);
      if (keep) files.set(file, bytes);
      // Length-prefixed so that no two different trees feed the hash the same bytes.
      hash.update(`${file}\0${bytes.byteLength}\0`);
      hash.update(bytes);
    }
    return { revision: `sha256:${hash.digest('hex')}`, files };
  }

  return {
    id,
    async latestRevision(callOptions: SourceCallOptions = {}) {
      return (await snapshot(callOptions.signal, false)).revision;
    },
    async fetch(revision?: string, callOptions: SourceCallOptions = {}) {
      const taken = await snapshot(callOptions.signal, true);
      if (revision !== undefined && revision !== taken.revision) {
        throw new SourceError(
          'REVISION_NOT_FOUND',
          `${id}: revision ${revision} is gone; the directory is now at ${taken.revision}. A directory keeps no history: fetch the latest revision instead.`,
          { data: { revision, latest: taken.revision } },
        );
      }
      const files: FileTree = memoryFileTree(Object.fromEntries(taken.files));
      return { source: id, revision: taken.revision, files };
    },
  };
}
