import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { AbortedError, FileNotFoundError, raceAbort, type SourceCallOptions } from '@converge/core';
import { GitPushRejectedError, GitRefNotFoundError } from './errors.js';
import type { GitSourceEvent } from './events.js';
import { defaultCacheDir, type GitSourceOptions } from './git-source.js';
import { connect } from './internal/connection.js';
import { formatRevision } from './revision.js';
import { GitCache } from './internal/git-cache.js';
import { listBlobs, normalisePath, readBlob } from './internal/git-file-tree.js';

/** A commit author or committer. */
export interface GitIdentity {
  /** Display name. */
  name: string;
  /** E-mail address. */
  email: string;
}

/** Options of {@link gitWriter}. */
export interface GitWriterOptions
  extends Pick<
    GitSourceOptions,
    'url' | 'auth' | 'caFile' | 'ca' | 'proxy' | 'headers' | 'http' | 'onProgress' | 'connectTimeoutMs' | 'responseTimeoutMs' | 'idleTimeoutMs'
  > {
  /** The branch to commit to. It must exist. @default 'main' */
  branch?: string;
  /** Author and committer of the commits. @default `{ name: 'Converge', email: 'converge@localhost' }` */
  author?: GitIdentity;
  /** How many times to refetch, re-apply and push when someone else pushed in between. @default 5 */
  maxAttempts?: number;
  /** Cache directory. @default `${defaultCacheDir(url)}-writer` */
  cacheDir?: string;
  /** Waits between attempts; pass a fake in tests. @default a short growing delay (50 ms × attempt) */
  sleep?: (ms: number) => Promise<void>;
}

/** The files of the branch tip, as the change function sees and edits them. */
export interface WritableFiles {
  /** Every file path under `dir` (default: the whole repository), sorted; includes pending writes. */
  list(dir?: string): string[];
  /** Whether a file exists (after pending writes and deletes). */
  exists(path: string): boolean;
  /** The bytes of a file. Rejects with `FileNotFoundError` if it does not exist. */
  read(path: string): Promise<Uint8Array>;
  /** The text (UTF-8) of a file. */
  readText(path: string): Promise<string>;
  /** Writes (creates or replaces) a file. */
  write(path: string, content: string | Uint8Array): void;
  /** Deletes a file. */
  delete(path: string): void;
  /** Reads a text file, applies `fn`, and writes the result back if it differs. */
  update(path: string, fn: (text: string) => string | Promise<string>): Promise<void>;
}

/** What {@link GitWriter.update} is asked to do. */
export interface GitWriteRequest {
  /** Edits the files. Runs again on a fresh tip after a rejected push, so keep it idempotent. */
  change: (files: WritableFiles) => void | Promise<void>;
  /** The commit message, or a template given the changed paths and the branch. */
  message: string | ((ctx: { changed: string[]; branch: string }) => string);
}

/** What an update did. */
export interface GitWriteResult {
  /** Whether a commit was pushed (false when the change left every file as it was). */
  pushed: boolean;
  /** The commit the branch points to afterwards (the new commit, or the unchanged tip). */
  commit: string;
  /** `branch@sha1:<commit>`. */
  revision: string;
  /** Paths written or deleted. */
  changed: string[];
  /** How many attempts it took (1 unless someone pushed in between). */
  attempts: number;
}

/** Commits and pushes changes to one branch. */
export interface GitWriter {
  /**
   * Fetches the branch tip, applies `change`, commits and pushes; never force-pushes. Every
   * request has the connect/response/idle deadlines of the options; `options.signal` ends the
   * update (between attempts too) with an `AbortedError`.
   */
  update(request: GitWriteRequest, options?: SourceCallOptions): Promise<GitWriteResult>;
}

const textDecoder = new TextDecoder();

/**
 * A writer for the write-back step (bump an image tag in the environment repository, image
 * update automation): fetch the branch tip into a cache, apply a change function to its files,
 * commit, and push. When the push is rejected because the branch moved, it refetches,
 * re-applies the change on the new tip and tries again, up to `maxAttempts`. It never
 * force-pushes, so no one else's commit is lost.
 *
 * @example
 * ```ts
 * const writer = gitWriter({ url, branch: 'main', auth: { token }, author: { name: 'ci', email: 'ci@acme.dev' } });
 * await writer.update({
 *   message: ({ changed }) => `deploy api v1.4.2 (${changed.join(', ')})`,
 *   change: (files) => files.update('prod/api.yaml', (t) => replaceImageTag(t, 'ghcr.io/acme/api', 'v1.4.2')),
 * });
 * ```
 */
export function gitWriter(options: GitWriterOptions): GitWriter {
  const conn = connect(options);
  const branch = options.branch ?? 'main';
  const author = options.author ?? { name: 'Converge', email: 'converge@localhost' };
  const maxAttempts = options.maxAttempts ?? 5;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const emit = (e: GitSourceEvent): void => options.onProgress?.(e);
  const cacheDir = options.cacheDir ?? `${defaultCacheDir(conn.url)}-writer`;
  const cache = new GitCache(cacheDir, conn.url, (reason, detail) => emit({ type: 'cache-rebuilt', reason, detail: conn.redact(detail), cacheDir }));
  const what = (op: string): string => `git ${op} ${conn.url} (branch ${branch})`;

  async function tipOf(signal?: AbortSignal): Promise<string> {
    const { http, fail } = await conn.open(signal);
    try {
      const refs = await git.listServerRefs({ http, url: conn.url, headers: { ...conn.headers }, protocolVersion: 2, prefix: `refs/heads/${branch}` });
      const hit = refs.find((r) => r.ref === `refs/heads/${branch}`);
      if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: branch ${branch} does not exist`);
      return hit.oid;
    } catch (e) {
      throw fail(e, what('ls-refs'));
    }
  }

  async function attempt(request: GitWriteRequest, signal?: AbortSignal): Promise<{ result?: Omit<GitWriteResult, 'attempts'>; retry?: string }> {
    const tip = await tipOf(signal);
    if (!(await cache.hasCommit(tip))) {
      const { http, fail } = await conn.open(signal);
      try {
        await cache.fetchCommit({ http, commit: tip, headers: conn.headers });
      } catch (e) {
        throw fail(e, what('fetch'));
      }
    }
    const { commit } = await git.readCommit({ fs, gitdir: cache.gitdir, oid: tip, cache: cache.objectCache });
    const base = await listBlobs(cache, commit.tree);
    const pending = new Map<string, Uint8Array | null>();
    const files = writableFiles(base, pending, (oid, path) => readBlob(cache, oid, path));
    await request.change(files);

    // Only real differences count: writing the same bytes is not a change.
    const changes = new Map<string, string | null>();
    for (const [path, content] of pending) {
      if (content === null) {
        if (base.has(path)) changes.set(path, null);
        continue;
      }
      const oid = await git.writeBlob({ fs, gitdir: cache.gitdir, blob: content });
      if (base.get(path) !== oid) changes.set(path, oid);
    }
    const changed = [...changes.keys()].sort();
    if (changed.length === 0) return { result: { pushed: false, commit: tip, revision: formatRevision({ name: branch, commit: tip }), changed } };

    const tree = (await rewriteTree(cache, commit.tree, changes)) ?? (await git.writeTree({ fs, gitdir: cache.gitdir, tree: [] }));
    const message = typeof request.message === 'string' ? request.message : request.message({ changed, branch });
    const now = { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
    const oid = await git.commit({
      fs,
      gitdir: cache.gitdir,
      tree,
      parent: [tip],
      message,
      author: { ...author, ...now },
      committer: { ...author, ...now },
      noUpdateBranch: true,
      cache: cache.objectCache,
    });
    await git.writeRef({ fs, gitdir: cache.gitdir, ref: 'refs/heads/converge-write', value: oid, force: true });
    const { http, fail } = await conn.open(signal);
    try {
      const pushed = await git.push({
        fs,
        http,
        gitdir: cache.gitdir,
        url: conn.url,
        ref: 'refs/heads/converge-write',
        remoteRef: `refs/heads/${branch}`,
        force: false,
        headers: { ...conn.headers },
        cache: cache.objectCache,
        // Compare-and-swap: only push onto the tip the change was applied to.
        onPrePush: ({ remoteRef }) => remoteRef.oid === tip,
      });
      const status = pushed.refs[`refs/heads/${branch}`];
      if (!pushed.ok || (status && !status.ok)) return { retry: status?.error ?? pushed.error ?? 'rejected' };
    } catch (e) {
      const error = fail(e, what('push'));
      if (error.code === 'ABORTED' || error.code === 'GIT_TIMEOUT') throw error;
      const code = (e as { code?: string }).code;
      if (code === 'UserCanceledError') return { retry: 'the branch moved' };
      if (code === 'PushRejectedError' || code === 'GitPushError') return { retry: conn.redact(String((e as Error).message)) };
      throw error;
    }
    await git.writeRef({ fs, gitdir: cache.gitdir, ref: 'refs/converge/last', value: oid, force: true });
    return { result: { pushed: true, commit: oid, revision: formatRevision({ name: branch, commit: oid }), changed } };
  }

  return {
    async update(request, callOptions = {}) {
      let lastReason = '';
      for (let n = 1; n <= maxAttempts; n++) {
        if (callOptions.signal?.aborted) throw new AbortedError(`${what('push')}: aborted`);
        const outcome = await cache.withLock(() => attempt(request, callOptions.signal), callOptions.signal);
        if (outcome.result) return { ...outcome.result, attempts: n };
        lastReason = outcome.retry ?? '';
        if (n < maxAttempts) await raceAbort(sleep(50 * n), callOptions.signal).catch(() => undefined);
      }
      throw new GitPushRejectedError(
        `${what('push')}: rejected ${maxAttempts} times, last because ${lastReason}; the branch keeps moving or a hook refuses the commit`,
        { data: { retryable: true, attempts: maxAttempts } },
      );
    },
  };
}

function writableFiles(
  base: ReadonlyMap<string, string>,
  pending: Map<string, Uint8Array | null>,
  readOid: (oid: string, path: string) => Promise<Uint8Array>,
): WritableFiles {
  const exists = (p: string): boolean => (pending.has(p) ? pending.get(p) !== null : base.has(p));
  const files: WritableFiles = {
    list(dir) {
      const d = normalisePath(dir ?? '');
      const all = new Set([...base.keys(), ...pending.keys()]);
      return [...all].filter((p) => exists(p) && (!d || p.startsWith(`${d}/`))).sort();
    },
    exists: (path) => exists(normalisePath(path)),
    async read(path) {
      const p = normalisePath(path);
      const own = pending.get(p);
      if (own) return own;
      const oid = own === null ? undefined : base.get(p);
      if (!oid) throw new FileNotFoundError(p);
      return readOid(oid, p);
    },
    async readText(path) {
      return textDecoder.decode(await files.read(path));
    },
    write(path, content) {
      pending.set(normalisePath(path), typeof content === 'string' ? new TextEncoder().encode(content) : content);
    },
    delete(path) {
      pending.set(normalisePath(path), null);
    },
    async update(path, fn) {
      const before = await files.readText(path);
      const after = await fn(before);
      if (after !== before) files.write(path, after);
    },
  };
  return files;
}

/** Writes the trees on the paths of `changes` (blob id, or null to delete); unchanged subtrees are reused. */
async function rewriteTree(cache: GitCache, treeOid: string | undefined, changes: Map<string, string | null>): Promise<string | undefined> {
  const entries = treeOid ? (await git.readTree({ fs, gitdir: cache.gitdir, oid: treeOid, cache: cache.objectCache })).tree : [];
  const byName = new Map(entries.map((e) => [e.path, e]));
  const nested = new Map<string, Map<string, string | null>>();
  for (const [path, oid] of changes) {
    const slash = path.indexOf('/');
    if (slash === -1) {
      if (oid === null) byName.delete(path);
      else byName.set(path, { mode: byName.get(path)?.mode === '100755' ? '100755' : '100644', path, oid, type: 'blob' });
      continue;
    }
    const dir = path.slice(0, slash);
    let sub = nested.get(dir);
    if (!sub) nested.set(dir, (sub = new Map()));
    sub.set(path.slice(slash + 1), oid);
  }
  for (const [dir, sub] of nested) {
    const existing = byName.get(dir);
    const oid = await rewriteTree(cache, existing?.type === 'tree' ? existing.oid : undefined, sub);
    if (oid) byName.set(dir, { mode: '040000', path: dir, oid, type: 'tree' });
    else byName.delete(dir);
  }
  if (byName.size === 0) return undefined;
  return git.writeTree({ fs, gitdir: cache.gitdir, tree: [...byName.values()] });
}
