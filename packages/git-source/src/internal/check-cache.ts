import * as fs from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { GitCacheCorruptError } from '../errors.js';
import type { GitCache, RebuildReason } from './git-cache.js';
import { PackIndex } from './pack-index.js';

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

/**
 * Checks a cache directory before anything reads from or fetches into it: its metadata and
 * URL, `HEAD`, `config`, `shallow`, that every pack has its index and passes its checksum, and
 * that every ref points at an object that is present and intact. A few small reads per call;
 * each pack is hashed once per process.
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

/**
 * Checks every pack against its index (once per pack and process: the whole pack is hashed)
 * and keeps the indexes in `cache.packs` for presence lookups. Returns what is wrong, if anything.
 */
async function checkPacks(cache: GitCache): Promise<string | undefined> {
  const dir = join(cache.gitdir, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.idx') && !names.includes(name.replace(/\.idx$/, '.pack'))) return `${name} has no pack`;
    if (!name.endsWith('.pack') || cache.packs.has(name)) continue;
    const idx = name.replace(/\.pack$/, '.idx');
    if (!names.includes(idx)) return `${name} has no index: its download or indexing was cut short`;
    const loaded = await PackIndex.load(join(dir, name), join(dir, idx));
    if (typeof loaded === 'string') return `${name}: ${loaded}`;
    cache.packs.set(name, loaded);
  }
  return undefined;
}

/**
 * Whether an object is in the cache and intact: in a checked pack, or a loose object that
 * reads back with the right hash (isomorphic-git checks it).
 */
async function hasObject(cache: GitCache, oid: string): Promise<boolean> {
  // Loose first, as isomorphic-git looks: a damaged loose copy shadows a good packed one.
  if (fs.existsSync(join(cache.gitdir, 'objects', oid.slice(0, 2), oid.slice(2)))) {
    await git.readObject({ fs, gitdir: cache.gitdir, oid, format: 'content', cache: cache.objectCache });
    return true;
  }
  for (const pack of cache.packs.values()) if (pack.has(oid)) return true;
  return false;
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
    const present = await hasObject(cache, oid).catch((e: unknown) => (e as Error).message);
    if (present !== true) return `${ref} points at ${oid}, which ${present === false ? 'is missing' : `cannot be read (${present})`}`;
  }
  return undefined;
}

/**
 * Checks that every object under `tree` is in the cache and intact, so an artifact is only
 * served when it is complete: trees are read (and hash-checked), blobs are looked up in the
 * checked packs or read if loose. Packs a fetch just added are checked first. Trees already
 * checked since the cache was last rebuilt are skipped. Throws `GitCacheCorruptError`.
 */
export async function checkTree(cache: GitCache, tree: string): Promise<void> {
  const packs = await checkPacks(cache);
  if (packs) throw new GitCacheCorruptError(`the git cache ${cache.gitdir} is damaged: ${packs}`);
  await walk(cache, tree);
}

async function walk(cache: GitCache, tree: string): Promise<void> {
  if (cache.checkedTrees.has(tree)) return;
  const { tree: entries } = await git.readTree({ fs, gitdir: cache.gitdir, oid: tree, cache: cache.objectCache });
  await Promise.all(
    entries.map(async (e) => {
      if (e.type === 'tree') await walk(cache, e.oid);
      else if (e.type === 'blob' && !(await hasObject(cache, e.oid))) {
        throw new GitCacheCorruptError(`the git cache ${cache.gitdir} lacks object ${e.oid} (${e.path}): the fetch that filled it was incomplete`);
      }
    }),
  );
  cache.checkedTrees.add(tree);
}
