import { FileNotFoundError } from './errors.js';
import type { FileTree } from './file-tree.js';
import { isUnder, normalizeTreePath } from './internal/tree-path.js';

const ROOT = '<memory>';

/**
 * A {@link FileTree} held in memory, for tests, generated manifests and snapshots.
 *
 * Paths are normalised (`./a//b.yaml` and `/a/b.yaml` both become `a/b.yaml`); strings are
 * stored as UTF-8. The tree copies its input and hands out copies, so neither the caller's
 * object nor a reader can change it later.
 *
 * @param files - file contents by path.
 * @example
 * ```ts
 * const files = memoryFileTree({ 'deploy/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\n' });
 * const render = yamlFiles();
 * const objects = await render({ artifact: { source: 'test', revision: '1', files } });
 * ```
 */
export function memoryFileTree(files: Record<string, string | Uint8Array>): FileTree {
  const encoder = new TextEncoder();
  const contents = new Map<string, Uint8Array>();
  for (const [path, content] of Object.entries(files)) {
    const key = normalizeTreePath(path, ROOT);
    if (key === '') throw new TypeError(`memoryFileTree: ${JSON.stringify(path)} is not a file path`);
    contents.set(key, typeof content === 'string' ? encoder.encode(content) : content.slice());
  }
  const sorted = [...contents.keys()].sort();

  return {
    async list(dir = '') {
      const prefix = normalizeTreePath(dir, ROOT);
      const found = sorted.filter((path) => path !== prefix && isUnder(path, prefix));
      if (prefix !== '' && found.length === 0) throw new FileNotFoundError(prefix);
      return found;
    },
    async read(path) {
      const content = contents.get(normalizeTreePath(path, ROOT));
      if (!content) throw new FileNotFoundError(path);
      return content.slice();
    },
  };
}
