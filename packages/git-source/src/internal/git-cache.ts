import * as fs from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { HttpClient, GitProgressEvent } from 'isomorphic-git';
import { AbortedError, raceAbort } from '@converge/core';
import { CACHE_FILES, checkCache } from './check-cache.js';
import type { PackIndex } from './pack-index.js';

const MARKER = CACHE_FILES.lock;
const META = CACHE_FILES.meta;
const CORRUPT = CACHE_FILES.corrupt;
const inProcess = new Map<string, Promise<unknown>>();

/** Why a cache directory was wiped and rebuilt. */
export type RebuildReason = 'interrupted' | 'corrupt' | 'foreign';

/** A bare repository used as a persistent object cache for one remote URL. */
export class GitCache {
  /** isomorphic-git's in-memory pack cache; dropped whenever the directory is rebuilt. */
  objectCache: object = {};
  /** Trees whose every object was read back intact since the last rebuild (see `checkTree`). */
  checkedTrees = new Set<string>();
  /** Packs that passed their checksum in this process, by file name (see `checkCache`). */
  packs = new Map<string, PackIndex>();

  constructor(
    readonly gitdir: string,
    private readonly url: string,
    private readonly onRebuild: (reason: RebuildReason, detail: string) => void,
  ) {}

  /**
   * Runs `fn` holding the cache's lock: one holder per directory in this process, and a
   * `converge-fetch.lock` file (with the holder's pid) across processes. A lock file left by a
   * dead process means a fetch was killed half-way: the directory is wiped and rebuilt. So is
   * a directory that fails {@link checkCache}. Waiting for the lock ends when `signal` aborts.
   */
  async withLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = inProcess.get(this.gitdir) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = previous.then(() => mine);
    inProcess.set(this.gitdir, chained);
    try {
      try {
        await raceAbort(previous.catch(() => undefined), signal);
      } catch {
        throw this.aborted();
      }
      await this.acquireFileLock(signal);
      try {
        return await fn();
      } finally {
        await rm(join(this.gitdir, MARKER), { force: true });
      }
    } finally {
      release();
      if (inProcess.get(this.gitdir) === chained) inProcess.delete(this.gitdir);
    }
  }

  private aborted(): AbortedError {
    return new AbortedError(`waiting for the git cache ${this.gitdir}: aborted`);
  }

  private async acquireFileLock(signal?: AbortSignal): Promise<void> {
    await mkdir(this.gitdir, { recursive: true });
    const marker = join(this.gitdir, MARKER);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (signal?.aborted) throw this.aborted();
      try {
        const handle = await open(marker, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number((await readFile(marker, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isAlive(pid) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      // The holder is gone (killed mid-fetch) or is this process without a live holder: the
      // directory may be half-written. Never serve it: start over.
      await this.wipe('interrupted', pid ? `process ${pid} died while it held the lock` : 'a lock file without a holder was left behind');
    }
    const found = await checkCache(this, this.url);
    if (found.state === 'damaged') await this.rebuild(found.reason, found.detail);
    else if (found.state === 'empty') await this.initialise();
  }

  /** Records that an object could not be read, so the next locked operation rebuilds the cache. */
  markCorrupt(): void {
    try {
      fs.writeFileSync(join(this.gitdir, CORRUPT), String(Date.now()));
    } catch {
      // The directory is gone already: the next fetch starts from scratch anyway.
    }
  }

  private async wipe(reason: RebuildReason, detail: string): Promise<void> {
    this.onRebuild(reason, detail);
    this.objectCache = {};
    this.checkedTrees = new Set();
    this.packs = new Map();
    await rm(this.gitdir, { recursive: true, force: true });
    await mkdir(this.gitdir, { recursive: true });
  }

  /**
   * Wipes the directory (call while holding the lock) and initialises an empty repository.
   * `detail` says what was found, for the `cache-rebuilt` event.
   */
  async rebuild(reason: RebuildReason, detail: string): Promise<void> {
    const marker = join(this.gitdir, MARKER);
    await this.wipe(reason, detail);
    await writeFile(marker, String(process.pid));
    await this.initialise();
  }

  /** Initialises an empty directory; the metadata file is written last, so a cut-short run is detected. */
  private async initialise(): Promise<void> {
    await git.init({ fs, gitdir: this.gitdir, bare: true });
    // fetch() records remote-tracking refs and needs a refspec for that.
    await git.addRemote({ fs, gitdir: this.gitdir, remote: 'origin', url: this.url, force: true });
    await writeFile(join(this.gitdir, META), JSON.stringify({ version: 1, url: this.url }));
  }

  /** Whether the commit object is in the cache (its tree may still be missing if corrupt). */
  async hasCommit(oid: string): Promise<boolean> {
    try {
      await git.readCommit({ fs, gitdir: this.gitdir, oid, cache: this.objectCache });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Fetches one commit and the objects it needs that the cache lacks. The first fetch is
   * shallow (depth 1). Later fetches offer the last fetched commit as a "have" and bound the
   * history with `deepen-since` (a day before that commit): a fast-forward downloads only the
   * new objects (a depth-limited fetch would resend the whole tree), and a force-push
   * downloads at most the recent history. If that finds nothing (the wanted commit is older),
   * a depth-1 fetch follows. Call while holding the lock.
   */
  async fetchCommit(o: {
    http: HttpClient;
    commit: string;
    headers: Record<string, string>;
    onProgress?: (e: GitProgressEvent) => void;
  }): Promise<void> {
    const last = await git.resolveRef({ fs, gitdir: this.gitdir, ref: 'refs/converge/last' }).catch(() => undefined);
    const lastTime = last
      ? await git
          .readCommit({ fs, gitdir: this.gitdir, oid: last, cache: this.objectCache })
          .then((c) => c.commit.committer.timestamp, () => undefined)
      : undefined;
    const run = (bound: { depth: number } | { since: Date }) =>
      git.fetch({
        fs,
        http: o.http,
        gitdir: this.gitdir,
        url: this.url,
        // `ref` names the local "have"; a 40-hex id is used as is.
        ...(last && { ref: last }),
        remoteRef: o.commit,
        singleBranch: true,
        ...bound,
        tags: false,
        headers: { ...o.headers },
        cache: this.objectCache,
        ...(o.onProgress && { onProgress: o.onProgress }),
      });
    let done = false;
    if (lastTime !== undefined) {
      try {
        await run({ since: new Date((lastTime - 86_400) * 1000) });
        done = await this.hasCommit(o.commit);
      } catch (e) {
        if (!/no commits selected|shallow/i.test(String((e as Error).message))) throw e;
      }
    }
    if (!done) await run({ depth: 1 });
    await git.writeRef({ fs, gitdir: this.gitdir, ref: 'refs/converge/last', value: o.commit, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
