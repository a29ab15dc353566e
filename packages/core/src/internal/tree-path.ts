import { posix } from 'node:path';
import { PathEscapeError } from '../errors.js';

/**
 * Normalises a `/`-separated tree path: `./a//b/` → `a/b`, `/a` → `a`, `.` or `''` → `''`
 * (the root). A path that climbs above the root with `..` throws {@link PathEscapeError}.
 */
export function normalizeTreePath(path: string, root: string): string {
  if (path.includes('\0')) throw new PathEscapeError(path, root);
  const normalized = posix.normalize(`/${path}`).replace(/^\/+/, '').replace(/\/+$/, '');
  // posix.normalize of an absolute path drops leading `..`, so compare against a relative form too.
  const relative = posix.normalize(path === '' ? '.' : path);
  if (relative === '..' || relative.startsWith('../')) throw new PathEscapeError(path, root);
  return normalized === '.' ? '' : normalized;
}

/** Whether `path` is `dir` itself or lies under it (`dir === ''` is the root). */
export function isUnder(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}
