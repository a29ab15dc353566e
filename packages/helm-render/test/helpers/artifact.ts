import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Artifact, FileTree } from '@converge/core';
import { FileNotFoundError } from '@converge/core';

/** A FileTree over a map of files, for tests. */
export function treeOf(files: Record<string, string | Uint8Array>): FileTree {
  const enc = new TextEncoder();
  const map = new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? enc.encode(v) : v]));
  const sorted = [...map.keys()].sort();
  return {
    async list(dir = '') {
      const prefix = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
      const found = sorted.filter((p) => p.startsWith(prefix));
      if (prefix && found.length === 0) throw new FileNotFoundError(dir);
      return found;
    },
    async read(path) {
      const data = map.get(path);
      if (!data) throw new FileNotFoundError(path);
      return data.slice();
    },
  };
}

/** Reads a folder from disk into a map of files (paths relative to `root`, prefixed by `prefix`). */
export async function filesOf(root: string, prefix = ''): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out[prefix + relative(root, full).split('\\').join('/')] = new Uint8Array(await readFile(full));
    }
  };
  await walk(root);
  return out;
}

/** An artifact over a map of files. */
export function artifactOf(files: Record<string, string | Uint8Array>): Artifact {
  return { source: 'test', revision: 'test', files: treeOf(files) };
}
