import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { ConvergeError, FileNotFoundError, PathEscapeError } from './errors.js';
import type { FileTree } from './file-tree.js';
import { normalizeTreePath } from './internal/tree-path.js';

/** Directory names never listed or read: version-control metadata is not desired state. */
const SKIPPED_DIRS = new Set(['.git']);

/**
 * A {@link FileTree} over a directory on disk.
 *
 * It never leaves its root: a path with `..` that climbs out, or a symlink (file or
 * directory) whose target lies outside the root, fails with {@link PathEscapeError} naming the
 * path — checked with `realpath` on every `read` and `list`. Symlinks that stay inside the root
 * are followed. `.git` directories are neither listed nor readable. Only regular files are
 * listed; dangling symlinks, sockets and the like are left out.
 *
 * The tree reads the disk on every call; take a snapshot (as `directorySource` does) when
 * you need content that cannot change.
 *
 * @param root - the directory; relative paths resolve against the working directory.
 */
export function directoryFileTree(root: string): FileTree {
  const absoluteRoot = resolve(root);
  let realRoot: Promise<string> | undefined;
  const rootReal = () => (realRoot ??= realpath(absoluteRoot).catch((error: unknown) => {
    realRoot = undefined;
    throw notFound(root, error);
  }));

  /** The real path of tree path `path`, checked to lie inside the root. */
  async function resolveInside(path: string, shown: string): Promise<string> {
    const real = await realpath(join(absoluteRoot, path)).catch((error: unknown) => {
      throw notFound(shown, error);
    });
    if (!inside(real, await rootReal())) throw new PathEscapeError(shown, absoluteRoot);
    return real;
  }

  async function walk(dir: string, realDir: string, ancestors: ReadonlySet<string>, out: string[]): Promise<void> {
    const entries = await readdir(realDir, { withFileTypes: true }).catch((error: unknown) => {
      throw notFound(dir === '' ? '.' : dir, error);
    });
    for (const entry of entries) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isFile()) {
        out.push(path);
      } else if (entry.isDirectory()) {
        const real = join(realDir, entry.name);
        await walk(path, real, new Set([...ancestors, real]), out);
      } else if (entry.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(join(realDir, entry.name));
        } catch {
          continue; // dangling: there is nothing to read
        }
        if (!inside(real, await rootReal())) throw new PathEscapeError(path, absoluteRoot);
        const target = await stat(real);
        if (target.isFile()) out.push(path);
        // A link back to a directory being walked would loop forever; its files are listed already.
        else if (target.isDirectory() && !ancestors.has(real)) await walk(path, real, new Set([...ancestors, real]), out);
      }
    }
  }

  return {
    async list(dir = '') {
      const start = normalizeTreePath(dir, absoluteRoot);
      if (start.split('/').some((part) => SKIPPED_DIRS.has(part))) throw new FileNotFoundError(start);
      const real = start === '' ? await rootReal() : await resolveInside(start, start);
      const info = await stat(real);
      if (!info.isDirectory()) throw new FileNotFoundError(start);
      const out: string[] = [];
      await walk(start, real, new Set([real]), out);
      return out.sort();
    },
    async read(path) {
      const file = normalizeTreePath(path, absoluteRoot);
      if (file === '' || file.split('/').some((part) => SKIPPED_DIRS.has(part))) throw new FileNotFoundError(path);
      const real = await resolveInside(file, path);
      // Read the resolved path, so a link swapped after the check is not followed.
      try {
        return new Uint8Array(await readFile(real));
      } catch (error) {
        throw notFound(path, error);
      }
    },
  };
}

function inside(real: string, root: string): boolean {
  if (real === root) return true;
  const rel = relative(root, real);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}

function notFound(path: string, error: unknown): ConvergeError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new FileNotFoundError(path, { cause: error });
  return new ConvergeError('FILE_READ_FAILED', `${path}: cannot read: ${(error as Error).message}`, {
    cause: error,
    data: { position: { file: path } },
  });
}
