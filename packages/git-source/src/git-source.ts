import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { HttpClient } from 'isomorphic-git';
import semver from 'semver';
import { AbortedError, type Artifact, type ConvergeError, type Source, type SourceCallOptions } from '@converge/core';
import { newestVersion } from '@converge/oci';
import { GitCacheCorruptError, GitRefNotFoundError, GitSignatureError, GitSourceError } from './errors.js';
import type { GitSourceEvent } from './events.js';
import { formatRevision, parseRevision, type GitRevision } from './revision.js';
import { GitCache } from './internal/git-cache.js';
import { applyIgnore, GitFileTree, listBlobs, normalisePath, readBlob, subtree } from './internal/git-file-tree.js';
import { connect, stripTrailing } from './internal/connection.js';
import { checkTree } from './internal/check-cache.js';
import { verifyCommitSignature } from './internal/verify-signature.js';

/**
 * Which commit a git source follows: exactly one of a branch, a tag, a semver range over the
 * tags, a commit or a raw ref name. Leave `ref` out for the remote's default branch (HEAD).
 *
 * - `{ branch: 'main' }`: revision `main@sha1:…`.
 * - `{ tag: 'v1.2.0' }` (annotated tags are peeled to their commit): revision `v1.2.0@sha1:…`.
 * - `{ semver: '>=1.2.0 <2' }`: the newest matching tag wins; `v` prefixes are accepted.
 * - `{ commit: '<40 hex>' }`: revision `sha1:…`.
 * - `{ name: 'refs/pull/7/head' }`: revision `refs/pull/7/head@sha1:…`.
 */
export type GitRef = { branch: string } | { tag: string } | { semver: string } | { commit: string } | { name: string };

/** The kinds of {@link GitRef}, in the order they are documented. */
const REF_KINDS = ['branch', 'tag', 'semver', 'commit', 'name'] as const;

/** A checked ref: its kind and value, or the remote's HEAD. */
type RefTarget = { kind: (typeof REF_KINDS)[number]; value: string } | { kind: 'head' };

/**
 * Reads a {@link GitRef} from untyped input (a YAML spec, a JavaScript caller): a mapping with
 * exactly one of `branch`, `tag`, `semver`, `commit`, `name`, a non-empty string, a 40-hex
 * commit, a valid semver range.
 *
 * @throws TypeError naming the field at fault (prefixed `ref.`).
 * @example
 * ```ts
 * parseGitRef({ tag: 'v1.2.0' }); // { tag: 'v1.2.0' }
 * parseGitRef({ branch: 'main', tag: 'v1' }); // TypeError: ref must set exactly one of branch, tag, …
 * ```
 */
export function parseGitRef(raw: unknown): GitRef {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new TypeError('ref must be a mapping');
  const fields = raw as Partial<Record<(typeof REF_KINDS)[number], unknown>>;
  const kinds = REF_KINDS.filter((k) => fields[k] !== undefined);
  const kind = kinds[0];
  if (kinds.length !== 1 || kind === undefined) throw new TypeError(`ref must set exactly one of branch, tag, semver, commit, name (got ${kinds.join(', ') || 'none'})`);
  const value = fields[kind];
  if (typeof value !== 'string' || value === '') throw new TypeError(`ref.${kind} must be a non-empty string`);
  switch (kind) {
    case 'commit':
      if (!/^[0-9a-f]{40}$/.test(value)) throw new TypeError('ref.commit must be a 40-hex commit id');
      return { commit: value };
    case 'semver':
      if (!semver.validRange(value)) throw new TypeError(`ref.semver ${JSON.stringify(value)} is not a semver range`);
      return { semver: value };
    case 'branch':
      return { branch: value };
    case 'tag':
      return { tag: value };
    case 'name':
      return { name: value };
  }
}

/** The checked ref of a source: its kind and value, or the remote's HEAD. */
function checkRef(ref: GitRef | undefined): RefTarget {
  if (ref === undefined) return { kind: 'head' };
  let parsed: GitRef;
  try {
    parsed = parseGitRef(ref);
  } catch (error) {
    throw new TypeError(`gitSource: ${(error as Error).message}`);
  }
  const [kind, value] = Object.entries(parsed)[0] as [(typeof REF_KINDS)[number], string];
  return { kind, value };
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


function refLabel(ref: RefTarget): string {
  return ref.kind === 'head' ? 'HEAD' : `${ref.kind}=${ref.value}`;
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
  const ref = checkRef(options.ref);
  const path = normalisePath(options.path ?? '');
  const ignorePatterns = typeof options.ignore === 'string' ? [options.ignore] : [...(options.ignore ?? [])];
  const emit = (e: GitSourceEvent): void => options.onProgress?.(e);
  const cacheDir = options.cacheDir ?? defaultCacheDir(conn.url);
  const cache = new GitCache(cacheDir, conn.url, (reason, detail) => emit({ type: 'cache-rebuilt', reason, detail: conn.redact(detail), cacheDir }));
  const id = `${conn.url}#${refLabel(ref)}${path ? `&path=${path}` : ''}`;
  const what = (op: string): string => `git ${op} ${conn.url} (${refLabel(ref)})`;

  async function latest(callOptions: SourceCallOptions = {}): Promise<GitRevision> {
    if (ref.kind === 'commit') return { commit: ref.value };
    const started = performance.now();
    if (callOptions.signal?.aborted) throw new AbortedError(`${what('ls-refs')}: aborted`);
    const { http, fail } = await conn.open(callOptions.signal);
    const list = (prefix: string, extra: { symrefs?: boolean; peelTags?: boolean } = {}) =>
      git.listServerRefs({ http, url: conn.url, headers: { ...conn.headers }, protocolVersion: 2, prefix, ...extra });
    let revision: GitRevision;
    try {
      switch (ref.kind) {
        case 'branch': {
          const hit = (await list(`refs/heads/${ref.value}`)).find((r) => r.ref === `refs/heads/${ref.value}`);
          if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: branch ${ref.value} does not exist`);
          revision = { name: ref.value, commit: hit.oid };
          break;
        }
        case 'tag': {
          const hit = (await list(`refs/tags/${ref.value}`, { peelTags: true })).find((r) => r.ref === `refs/tags/${ref.value}`);
          if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: tag ${ref.value} does not exist`);
          revision = { name: ref.value, commit: hit.peeled ?? hit.oid };
          break;
        }
        case 'semver': {
          const tags = new Map((await list('refs/tags/', { peelTags: true })).filter((r) => !r.ref.endsWith('^{}')).map((t) => [t.ref.slice('refs/tags/'.length), t.peeled ?? t.oid]));
          const name = newestVersion([...tags.keys()], ref.value);
          if (name === undefined) throw new GitRefNotFoundError(`${what('ls-refs')}: no tag matches semver range ${ref.value} (${tags.size} tags found)`);
          revision = { name, commit: tags.get(name)! };
          break;
        }
        case 'name': {
          const hit = (await list(ref.value, { symrefs: true })).find((r) => r.ref === ref.value);
          if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: ref ${ref.value} does not exist`);
          revision = { name: ref.value, commit: hit.oid };
          break;
        }
        case 'head': {
          const hit = (await list('HEAD', { symrefs: true })).find((r) => r.ref === 'HEAD');
          if (!hit) throw new GitRefNotFoundError(`${what('ls-refs')}: the repository has no HEAD (is it empty?)`);
          const target = hit.target?.replace(/^refs\/heads\//, '');
          revision = { ...(target && { name: target }), commit: hit.oid };
          break;
        }
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
        if (!parsed) throw new GitSourceError('GIT_INVALID_REVISION', `${what('fetch')}: ${JSON.stringify(revisionText)} is not a git revision (expected name@sha1:<40 hex> or sha1:<40 hex>)`);
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
