import * as fs from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { GitCache, RebuildReason } from './git-cache.js';

/** Files of its own that the cache keeps next to git's. */
export const CACHE_FILES = {
  /** Held (with the holder's pid) for as long as a call uses the directory. */
  lock: 'converge-fetch.lock',
  /** `{ version, url }`, written last when the directory is initialised. */
  meta: 'converge-cache.json',
  /** Left by a read that found a damaged object, so the next call rebuilds. */
  corrupt: 'converge-corrupt',
} as const;

/** What is wrong with a cache directory, in words for the `cache-rebuilt` event. */
export interface CacheDamage {
  /** The kind of damage. */
  reason: RebuildReason;
  /** What exactly was found. */
  detail: string;
}

/** What {@link checkCache} found: nothing wrong, an empty directory, or damage. */
export type CacheState = { state: 'ok' } | { state: 'empty' } | ({ state: 'damaged' } & CacheDamage);

const HEX40 = /^[0-9a-f]{40}$/;
const HEAD_LINE = /^(ref: refs\/\S+|[0-9a-f]{40})\n?$/;
// git's own config grammar, line by line: a section header, a variable, a comment or nothing.
const CONFIG_LINE = /^\s*(\[[^\]\n]+\]\s*([#;].*)?|[A-Za-z][\w-]*\s*(=.*)?|[#;].*|)$/;
const IDX_MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63]);

/**
 * Checks a cache directory before anything reads from or fetches into it: its metadata and
 * URL, `HEAD`, `config`, `shallow`, that every pack has its index and matches it, and that
 * every ref points at an object that reads back intact. Cheap: a few small reads per call;
 * a pack's full checksum is verified by isomorphic-git the first time it is read in a process.
 */
export async function checkCache(cache: GitCache, url: string): Promise<CacheState> {
  const gitdir = cache.gitdir;
  const entries = (await readdir(gitdir)).filter((n) => n !== CACHE_FILES.lock);
  if (entries.length === 0) return { state: 'empty' };
  if (entries.includes(CACHE_FILES.corrupt)) return damaged('an earlier read found a damaged object');
  const meta = await readFile(join(gitdir, CACHE_FILES.meta), 'utf8').then(
    (text) => JSON.parse(text) as { url?: unknown },
    () => undefined,
  );
  if (typeof meta?.url !== 'string') return damaged(`${CACHE_FILES.meta} is missing or unreadable: the directory was never fully initialised`);
  if (meta.url !== url) return { state: 'damaged', reason: 'foreign', detail: `it holds objects of ${meta.url}` };
  for (const check of [checkHead, checkConfig, checkShallow, checkPacks, checkRefs]) {
    const problem = await check(cache, url);
    if (problem) return damaged(problem);
  }
  return { state: 'ok' };
}

function damaged(detail: string): CacheState {
  return { state: 'damaged', reason: 'corrupt', detail };
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

async function checkHead(cache: GitCache): Promise<string | undefined> {
  const head = await readText(join(cache.gitdir, 'HEAD'));
  if (head === undefined) return 'HEAD is missing';
  if (!HEAD_LINE.test(head)) return 'HEAD is neither a ref nor a commit id';
  return undefined;
}

async function checkConfig(cache: GitCache, url: string): Promise<string | undefined> {
  const text = await readText(join(cache.gitdir, 'config'));
  if (text === undefined) return 'config is missing';
  const bad = text.split('\n').findIndex((line) => !CONFIG_LINE.test(line));
  if (bad !== -1) return `config line ${bad + 1} is not valid git config`;
  const remote = await git.getConfig({ fs, gitdir: cache.gitdir, path: 'remote.origin.url' }).catch(() => undefined);
  if (remote !== url) return 'config has lost the remote it fetches from';
  return undefined;
}

async function checkShallow(cache: GitCache): Promise<string | undefined> {
  const text = await readText(join(cache.gitdir, 'shallow'));
  if (text === undefined) return undefined;
  if (!text.split('\n').every((line) => line === '' || HEX40.test(line))) return 'shallow lists something that is not a commit id';
  return undefined;
}

/** Reads `length` bytes at `position` (negative: from the end). */
async function readSlice(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const at = position < 0 ? size + position : position;
    if (at < 0) return Buffer.alloc(0);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, at);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function checkPacks(cache: GitCache): Promise<string | undefined> {
  const dir = join(cache.gitdir, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.idx') && !names.includes(name.replace(/\.idx$/, '.pack'))) return `${name} has no pack`;
    if (!name.endsWith('.pack')) continue;
    const idx = name.replace(/\.pack$/, '.idx');
    if (!names.includes(idx)) return `${name} has no index: its download or indexing was cut short`;
    const pack = join(dir, name);
    if (!(await readSlice(pack, 0, 4)).equals(Buffer.from('PACK'))) return `${name} does not start like a pack`;
    const index = join(dir, idx);
    if (!(await readSlice(index, 0, 4)).equals(IDX_MAGIC)) return `${idx} does not start like a pack index`;
    // A pack ends with its checksum, and its index records the same checksum: a truncated
    // or half-replaced pack does not match.
    const trailer = await readSlice(pack, -20, 20);
    const recorded = await readSlice(index, -40, 20);
    if (trailer.length !== 20 || !trailer.equals(recorded)) return `${name} is truncated or does not match its index`;
  }
  return undefined;
}

async function checkRefs(cache: GitCache): Promise<string | undefined> {
  let refs: string[];
  try {
    refs = await git.listRefs({ fs, gitdir: cache.gitdir, filepath: 'refs' });
  } catch (e) {
    return `the refs cannot be listed (${(e as Error).message})`;
  }
  for (const short of refs) {
    const ref = `refs/${short}`;
    let oid: string;
    try {
      oid = await git.resolveRef({ fs, gitdir: cache.gitdir, ref });
    } catch {
      return `${ref} cannot be resolved`;
    }
    if (!HEX40.test(oid)) return `${ref} does not hold a commit id`;
    try {
      await git.readObject({ fs, gitdir: cache.gitdir, oid, cache: cache.objectCache });
    } catch (e) {
      return `${ref} points at ${oid}, which cannot be read (${(e as Error).message})`;
    }
  }
  return undefined;
}

/**
 * Reads every tree and blob under `tree` once, so an artifact is only served when all of its
 * objects are present and intact (isomorphic-git checks each loose object's hash and each
 * pack's checksum). Trees already checked since the cache was last rebuilt are skipped.
 * Throws what the failing read threw.
 */
export async function checkTree(cache: GitCache, tree: string): Promise<void> {
  if (cache.checkedTrees.has(tree)) return;
  const { tree: entries } = await git.readTree({ fs, gitdir: cache.gitdir, oid: tree, cache: cache.objectCache });
  await Promise.all(
    entries.map(async (e) => {
      if (e.type === 'tree') await checkTree(cache, e.oid);
      else if (e.type === 'blob') await git.readBlob({ fs, gitdir: cache.gitdir, oid: e.oid, cache: cache.objectCache });
    }),
  );
  cache.checkedTrees.add(tree);
}
