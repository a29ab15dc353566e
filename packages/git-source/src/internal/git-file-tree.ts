import * as fs from 'node:fs';
import git from 'isomorphic-git';
import ignore from 'ignore';
import { FileNotFoundError, type FileTree } from '@converge/core';
import { GitCacheCorruptError } from '../errors.js';
import type { GitCache } from './git-cache.js';

/** Normalises a tree path: no leading `./` or `/`, no trailing `/`. */
export function normalisePath(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/**
 * Lists every regular file under `tree` (recursively) as path → blob id. Symlinks and
 * submodules are left out: an artifact only holds content stored in the commit itself.
 */
export async function listBlobs(cache: GitCache, tree: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (oid: string, base: string): Promise<void> => {
    const { tree: entries } = await git.readTree({ fs, gitdir: cache.gitdir, oid, cache: cache.objectCache });
    await Promise.all(
      entries.map(async (e) => {
        const path = base ? `${base}/${e.path}` : e.path;
        if (e.type === 'tree') await walk(e.oid, path);
        else if (e.type === 'blob' && e.mode !== '120000') out.set(path, e.oid);
      }),
    );
  };
  await walk(tree, prefix);
  return out;
}

/** Finds the tree at `path` inside a commit's root tree, or `undefined` if there is none. */
export async function subtree(cache: GitCache, rootTree: string, path: string): Promise<string | undefined> {
  let oid = rootTree;
  for (const part of path ? path.split('/') : []) {
    const { tree } = await git.readTree({ fs, gitdir: cache.gitdir, oid, cache: cache.objectCache });
    const entry = tree.find((e) => e.path === part);
    if (!entry || entry.type !== 'tree') return undefined;
    oid = entry.oid;
  }
  return oid;
}

/** Reads one blob, reporting a damaged object as {@link GitCacheCorruptError}. */
export async function readBlob(cache: GitCache, oid: string, path: string): Promise<Uint8Array> {
  try {
    const { blob } = await git.readBlob({ fs, gitdir: cache.gitdir, oid, cache: cache.objectCache });
    return blob;
  } catch (e) {
    cache.markCorrupt();
    throw new GitCacheCorruptError(`${path}: object ${oid} cannot be read from the git cache ${cache.gitdir}; it will be rebuilt on the next fetch`, {
      cause: e,
      data: { position: { file: path } },
    });
  }
}

/**
 * Drops files matched by gitignore-syntax patterns: `patterns` (relative to the artifact root),
 * each `.sourceignore` in the artifact (relative to its own folder) and `outer`, the repository
 * root's `.sourceignore` when the artifact is a sub-folder (relative to the repository root).
 */
export async function applyIgnore(
  cache: GitCache,
  blobs: Map<string, string>,
  patterns: readonly string[],
  outer?: { text: string; prefix: string },
): Promise<Map<string, string>> {
  const tests: ((path: string) => boolean)[] = [];
  if (patterns.length > 0) {
    const ig = ignore().add([...patterns]);
    tests.push((p) => ig.ignores(p));
  }
  if (outer) {
    const ig = ignore().add(outer.text);
    tests.push((p) => ig.ignores(outer.prefix + p));
  }
  for (const [path, oid] of blobs) {
    if (path === '.sourceignore' || path.endsWith('/.sourceignore')) {
      const base = path.slice(0, -'.sourceignore'.length);
      const ig = ignore().add(new TextDecoder().decode(await readBlob(cache, oid, path)));
      tests.push((p) => p.startsWith(base) && ig.ignores(p.slice(base.length)));
    }
  }
  if (tests.length === 0) return blobs;
  const kept = new Map<string, string>();
  for (const [path, oid] of blobs) if (!tests.some((t) => t(path))) kept.set(path, oid);
  return kept;
}

/** A {@link FileTree} over blobs in the object store: nothing is checked out. */
export class GitFileTree implements FileTree {
  private readonly paths: string[];

  constructor(
    private readonly cache: GitCache,
    private readonly blobs: ReadonlyMap<string, string>,
  ) {
    this.paths = [...blobs.keys()].sort();
  }

  async list(dir?: string): Promise<string[]> {
    const d = normalisePath(dir ?? '');
    if (!d) return [...this.paths];
    return this.paths.filter((p) => p.startsWith(`${d}/`));
  }

  async read(path: string): Promise<Uint8Array> {
    const p = normalisePath(path);
    const oid = this.blobs.get(p);
    if (!oid) throw new FileNotFoundError(p);
    return readBlob(this.cache, oid, p);
  }
}
