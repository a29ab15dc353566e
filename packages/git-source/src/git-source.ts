import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { HttpClient } from 'isomorphic-git';
import semver from 'semver';
import { AbortedError, SourceError, type Artifact, type ConvergeError, type Source, type SourceCallOptions } from '@converge/core';
import { GitCacheCorruptError, GitRefNotFoundError, GitSignatureError } from './errors.js';
import type { GitSourceEvent } from './events.js';
import { formatRevision, parseRevision, type GitRevision } from './revision.js';
import { GitCache } from './internal/git-cache.js';
import { applyIgnore, GitFileTree, listBlobs, normalisePath, readBlob, subtree } from './internal/git-file-tree.js';
import { connect, stripTrailing } from './internal/connection.js';
import { checkTree } from './internal/check-cache.js';
import { verifyCommitSignature } from './internal/verify-signature.js';

/** Which commit a git source follows. Set exactly one field; with none, the remote's default branch (HEAD). */
export interface GitRef {
  /** A branch name, e.g. `main`. Revision: `main@sha1:…`. */
  branch?: string;
  /** A tag name, e.g. `v1.2.0` (annotated tags are peeled to their commit). Revision: `v1.2.0@sha1:…`. */
  tag?: string;
  /** A semver range (`>=1.2.0 <2`); the newest matching tag wins. `v` prefixes are accepted. */
  semver?: string;
  /** An exact 40-hex commit id. Revision: `sha1:…`. */
  commit?: string;
  /** A raw ref name, e.g. `refs/pull/7/head`. Revision: `refs/pull/7/head@sha1:…`. */
  name?: string;
}

/** Credentials for the git server. Never copied into ids, revisions, errors or events. */
export interface GitAuth {
  /** Basic auth user name. @default `x-access-token` when only `token` is set */
  username?: string;
  /** Basic auth password. */
  password?: string;
  /** An access token, sent as the basic-auth password or, with `tokenType: 'bearer'`, as `Authorization: Bearer`. */
  token?: string;
  /** How `token` is sent. @default 'basic' */
  tokenType?: 'basic' | 'bearer';
}

/** Trusted keys for commit signature verification. */
export interface GitVerifyOptions {
  /** Armored OpenPGP public keys; a commit must carry a valid signature by one of them. */
  publicKeys: readonly string[];
}

/** Options of {@link gitSource}. */
export interface GitSourceOptions {
  /** The repository's `http(s)://` URL. Credentials in it are moved to `auth` and stripped everywhere else. */
  url: string;
  /** What to follow. @default the remote's default branch */
  ref?: GitRef;
  /** Limit the artifact to this folder of the repository; its paths become relative to it. @default the whole repository */
  path?: string;
  /**
   * Files to leave out, in .gitignore syntax, relative to the artifact root. `.sourceignore`
   * files in the repository are honoured too (relative to their folder).
   */
  ignore?: string | readonly string[];
  /** Credentials. */
  auth?: GitAuth;
  /** A PEM file with the CA certificate(s) that sign the server's certificate. */
  caFile?: string;
  /** PEM text of CA certificate(s); an alternative to `caFile`. */
  ca?: string;
  /** An HTTP proxy URL (HTTPS targets tunnel through CONNECT). @default no proxy */
  proxy?: string;
  /** Refuse commits not signed by one of these keys. @default no verification */
  verify?: GitVerifyOptions;
  /** Where fetched objects are kept between calls and processes. @default `${XDG_CACHE_HOME:-~/.cache}/converge/git/<hash of url>` */
  cacheDir?: string;
  /** Extra HTTP headers on every request. */
  headers?: Record<string, string>;
  /** Receives typed progress events. */
  onProgress?: (event: GitSourceEvent) => void;
  /**
   * The HTTP transport; replaces the built-in node:http client (and its `ca`, `proxy` and
   * timeouts: deadlines are then the transport's job). An aborted signal still ends the call.
   */
  http?: HttpClient;
  /**
   * How long opening a TCP connection to the server (or the proxy) may take before the request
   * fails with `GitTimeoutError` (`GIT_TIMEOUT`, retryable). `Infinity` turns it off.
   * @default 10_000
   */
  connectTimeoutMs?: number;
  /**
   * How long the server may take, once connected, to send the response headers of a request
   * (this includes sending the request body, e.g. the pack of a push). `Infinity` turns it off.
   * @default 30_000
   */
  responseTimeoutMs?: number;
  /**
   * The longest silence allowed between two chunks of a response body (git servers send
   * progress while they prepare a pack, so a healthy server is never silent for long).
   * `Infinity` turns it off.
   * @default 30_000
   */
  idleTimeoutMs?: number;
}

/** The default cache directory for a URL: `${XDG_CACHE_HOME:-~/.cache}/converge/git/<hash>`. */
export function defaultCacheDir(url: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'converge', 'git', createHash('sha256').update(stripTrailing(url)).digest('hex').slice(0, 24));
}


function refLabel(ref: GitRef): string {
  if (ref.branch) return `branch=${ref.branch}`;
  if (ref.tag) return `tag=${ref.tag}`;
  if (ref.semver) return `semver=${ref.semver}`;
  if (ref.commit) return `commit=${ref.commit}`;
  if (ref.name) return `name=${ref.name}`;
  return 'HEAD';
}

/**
 * A `Source` that follows a branch, tag, semver range, commit or ref of a Git repository
 * over smart HTTP(S), with isomorphic-git.
 *
 * `latestRevision()` asks the server for one ref (protocol v2 `ls-refs` with a prefix) and
 * downloads no pack. `fetch()` keeps a bare repository in `cacheDir`, fetches shallowly and
 * incrementally, and returns an artifact whose files are read straight from the object store.
 *
 * @example
 * ```ts
 * const source = gitSource({
 *   url: 'https://git.example.com/platform/env.git',
 *   ref: { branch: 'main' },
 *   path: 'clusters/prod',
 *   auth: { token }, // e.g. process.env.GIT_TOKEN, checked to be set
 * });
 * const revision = await source.latestRevision(); // 'main@sha1:…'
 * const artifact = await source.fetch(revision);
 * ```
 */
export function gitSource(options: GitSourceOptions): Source {
  const conn = connect(options);
  const ref = options.ref ?? {};
  const kinds = (['branch', 'tag', 'semver', 'commit', 'name'] as const).filter((k) => ref[k] !== undefined);
  if (kinds.length > 1) throw new TypeError(`gitSource: set one of ref.branch, ref.tag, ref.semver, ref.commit, ref.name (got ${kinds.join(', ')})`);
  if (ref.commit !== undefined && !/^[0-9a-f]{40}$/.test(ref.commit)) throw new TypeError(`gitSource: ref.commit must be a 40-hex commit id`);
  if (ref.semver !== undefined && !semver.validRange(ref.semver)) throw new TypeError(`gitSource: ref.semver ${JSON.stringify(ref.semver)} is not a semver range`);
  const path = normalisePath(options.path ?? '');
  const ignorePatterns = typeof options.ignore === 'string' ? [options.ignore] : [...(options.ignore ?? [])];
  const emit = (e: GitSourceEvent): void => options.onProgress?.(e);
  const cacheDir = options.cacheDir ?? defaultCacheDir(conn.url);
  const cache = new GitCache(cacheDir, conn.url, (reason, detail) => emit({ type: 'cache-rebuilt', reason, detail: conn.redact(detail), cacheDir }));
  const id = `${conn.url}#${refLabel(ref)}${path ? `&path=${path}` : ''}`;
  const what = (op: string): string => `git ${op} ${conn.url} (${refLabel(ref)})`;

  async function latest(callOptions: SourceCallOptions = {}): Promise<GitRevision> {
    if (ref.commit) return { commit: ref.commit };
    const started = performance.now();
    if (callOptions.signal?.aborted) throw new AbortedError(`${what('ls-refs')}: aborted`);
    const { http, fail } = await conn.open(callOptions.signal);
    const list = (prefix: string, extra: { symrefs?: boolean; peelTags?: boolean } = {}) =>
      git.listServerRefs({ http, url: conn.url, headers: { ...conn.headers }, protocolVersion: 2, prefix, ...extra });
    let revision: GitRevision;
    try {
      if (ref.branch) {
        const hit = (await list(`refs/heads/${ref.branch}`)).find((r) => r.ref === `refs/heads/${ref.branch}`);
        if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: branch ${ref.branch} does not exist`);
        revision = { name: ref.branch, commit: hit.oid };
      } else if (ref.tag) {
        const hit = (await list(`refs/tags/${ref.tag}`, { peelTags: true })).find((r) => r.ref === `refs/tags/${ref.tag}`);
        if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: tag ${ref.tag} does not exist`);
        revision = { name: ref.tag, commit: hit.peeled ?? hit.oid };
      } else if (ref.semver) {
        const tags = (await list('refs/tags/', { peelTags: true })).filter((r) => !r.ref.endsWith('^{}'));
        const byVersion = new Map<string, { name: string; commit: string }>();
        for (const t of tags) {
          const name = t.ref.slice('refs/tags/'.length);
          const version = semver.valid(name, { loose: true });
          if (version) byVersion.set(version, { name, commit: t.peeled ?? t.oid });
        }
        const best = semver.maxSatisfying([...byVersion.keys()], ref.semver);
        if (!best) throw new GitRefNotFoundError(`${what('ls-refs')}: no tag matches semver range ${ref.semver} (${byVersion.size} semver tags found)`);
        revision = byVersion.get(best)!;
      } else if (ref.name) {
        const hit = (await list(ref.name, { symrefs: true })).find((r) => r.ref === ref.name);
        if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: ref ${ref.name} does not exist`);
        revision = { name: ref.name, commit: hit.oid };
      } else {
        const hit = (await list('HEAD', { symrefs: true })).find((r) => r.ref === 'HEAD');
        if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: the repository has no HEAD (is it empty?)`);
        const target = hit.target?.replace(/^refs\/heads\//, '');
        revision = { ...(target && { name: target }), commit: hit.oid };
      }
    } catch (e) {
      throw fail(e, what('ls-refs'));
    }
    emit({ type: 'refs', ref: refLabel(ref), revision: formatRevision(revision), durationMs: performance.now() - started });
    return revision;
  }

  async function artifactAt(revision: GitRevision, text: string): Promise<{ files: GitFileTree; count: number }> {
    const { commit, payload } = await git.readCommit({ fs, gitdir: cache.gitdir, oid: revision.commit, cache: cache.objectCache });
    if (options.verify) {
      const keyId = await verifyCommitSignature({
        commit: revision.commit,
        payload,
        gpgsig: commit.gpgsig,
        trustedKeys: options.verify.publicKeys,
      });
      emit({ type: 'verified', revision: text, keyId });
    }
    const tree = await subtree(cache, commit.tree, path);
    if (tree === undefined) {
      throw new GitRefNotFoundError(`${what('fetch')}: folder ${path} does not exist at ${text}`, { data: { position: { file: path } } });
    }
    // Only a complete artifact is served: every object it needs must read back intact now.
    await checkTree(cache, tree);
    let blobs = await listBlobs(cache, tree);
    let outer: { text: string; prefix: string } | undefined;
    if (path) {
      const root = await listBlobsShallow(cache, commit.tree);
      const oid = root.get('.sourceignore');
      if (oid) outer = { text: new TextDecoder().decode(await readBlob(cache, oid, '.sourceignore')), prefix: `${path}/` };
    }
    blobs = await applyIgnore(cache, blobs, ignorePatterns, outer);
    return { files: new GitFileTree(cache, blobs), count: blobs.size };
  }

  return {
    id,
    async latestRevision(callOptions) {
      return formatRevision(await latest(callOptions));
    },
    async fetch(revisionText, callOptions = {}) {
      const signal = callOptions.signal;
      let revision: GitRevision;
      if (revisionText === undefined) {
        revision = await latest(callOptions);
      } else {
        const parsed = parseRevision(revisionText);
        if (!parsed) throw new SourceError('GIT_INVALID_REVISION', `${what('fetch')}: ${JSON.stringify(revisionText)} is not a git revision (expected name@sha1:<40 hex> or sha1:<40 hex>)`);
        revision = parsed;
      }
      const text = formatRevision(revision);
      const started = performance.now();
      let bytes = 0;
      return cache.withLock(async (): Promise<Artifact> => {
        for (let attempt = 0; ; attempt++) {
          if (signal?.aborted) throw new AbortedError(`${what('fetch')}: aborted`);
          const cached = await cache.hasCommit(revision.commit);
          if (!cached) {
            emit({ type: 'fetch-start', revision: text });
            const { http, fail } = await conn.open(signal, (n) => (bytes += n));
            try {
              await cache.fetchCommit({
                http,
                commit: revision.commit,
                headers: conn.headers,
                onProgress: (p) => emit({ type: 'transfer', phase: p.phase, loaded: p.loaded, ...(p.total && { total: p.total }) }),
              });
            } catch (e) {
              const error = fail(e, what('fetch'));
              // Neither the network nor the server: the local objects the fetch builds on are
              // damaged. Start from an empty cache once before giving up.
              if (attempt === 0 && isLocalFailure(error)) {
                await cache.rebuild('corrupt', `a fetch into it failed: ${error.message}`);
                continue;
              }
              throw error;
            }
            if (!(await cache.hasCommit(revision.commit))) {
              // The server answered but the commit is unreadable: the objects we offered as
              // "have" are damaged. Start from an empty cache once before giving up.
              if (attempt === 0) {
                await cache.rebuild('corrupt', `commit ${revision.commit} was unreadable right after it was fetched`);
                continue;
              }
              throw new GitRefNotFoundError(`${what('fetch')}: the server did not send commit ${revision.commit}; was it force-pushed away?`);
            }
          }
          try {
            const { files, count } = await artifactAt(revision, text);
            emit({ type: 'fetched', revision: text, cached, bytes, files: count, durationMs: performance.now() - started });
            return { source: id, revision: text, files };
          } catch (e) {
            if (e instanceof GitSignatureError || e instanceof GitRefNotFoundError) throw e;
            const detail = conn.redact(String((e as Error).message));
            if (attempt > 0) {
              throw new GitCacheCorruptError(`${what('fetch')}: the cache ${cache.gitdir} is still unreadable after a rebuild: ${detail}`, { cause: e });
            }
            await cache.rebuild('corrupt', `reading ${text} from it failed: ${detail}`);
          }
        }
      }, signal);
    },
  };
}

/** A failure with no network or HTTP cause, which a damaged cache can explain. */
function isLocalFailure(error: ConvergeError): boolean {
  return error.code === 'GIT_FAILED' && error.data.statusCode === undefined;
}

async function listBlobsShallow(cache: GitCache, tree: string): Promise<Map<string, string>> {
  const { tree: entries } = await git.readTree({ fs, gitdir: cache.gitdir, oid: tree, cache: cache.objectCache });
  return new Map(entries.filter((e) => e.type === 'blob').map((e) => [e.path, e.oid]));
}
