import { helmError } from '../errors.js';

/**
 * Checks that `name` is a relative `/`-separated path that stays inside its root (no `..`
 * segment, no absolute path, no drive letter, no NUL) and returns it normalized
 * (`./` and empty segments removed). Throws `HELM_ARCHIVE_UNSAFE` otherwise.
 */
export function safeRelativePath(name: string): string {
  const normalized = name.replace(/\\/g, '/');
  const parts = normalized.split('/').filter((p) => p !== '' && p !== '.');
  if (
    normalized.startsWith('/') ||
    /^[a-zA-Z]:/.test(normalized) ||
    normalized.includes('\0') ||
    parts.includes('..') ||
    parts.length === 0
  ) {
    throw helmError('HELM_ARCHIVE_UNSAFE', `refusing unsafe path ${JSON.stringify(name)}: it points outside the chart`, {
      path: name,
    });
  }
  return parts.join('/');
}
