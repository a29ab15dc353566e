import { createHash } from 'node:crypto';
import type { Artifact, Source } from '@converge/core';
import { gitSource, type GitAuth, type GitSourceOptions } from '@converge/git-source';
import { parseRemoteUrl, redactUrl } from './remote-url.js';

/** What a {@link RemoteResolver} returns for a remote entry. */
export type ResolvedRemote =
  | {
      kind: 'dir';
      /** Names this content for reuse within a build, e.g. a hash of repository and commit. */
      id: string;
      /** Every file of the repository, named from its root. */
      files: Array<{ name: string; data: Uint8Array }>;
      /** The folder in the repository the entry names. */
      path: string;
      /** What it resolved to, e.g. `v1.2.0@sha1:…`; part of the render's remote revisions. */
      revision: string;
    }
  | { kind: 'file'; id: string; data: Uint8Array; revision: string };

/** What a resolver is told about the entry it resolves. */
export interface RemoteContext {
  /** The kustomization file naming it, relative to the artifact. */
  kustomizationFile: string;
  signal?: AbortSignal | undefined;
}

/**
 * Fetches the remote `resources:` entries of a kustomization (Git repositories and single
 * HTTP files) on the engine's behalf: the engine itself has no network. Reject with an
 * `Error` whose message says why; it becomes `KUSTOMIZE_REMOTE_FAILED` naming the URL
 * (without credentials).
 */
export interface RemoteResolver {
  (url: string, context: RemoteContext): Promise<ResolvedRemote>;
  /**
   * The revision `url` resolves to now, without fetching it where possible (one ref lookup for
   * Git). {@link trackRemoteBases} uses it so that a change upstream is a new revision.
   */
  latestRevision?: (url: string, options?: { signal?: AbortSignal | undefined }) => Promise<string>;
}

/** Options of {@link gitRemoteResolver}. */
export interface GitRemoteResolverOptions {
  /**
   * Credentials for a repository, by its URL (`https://host/org/repo`), as in `gitSource`.
   * Never appear in errors.
   * @default none
   */
  auth?: GitAuth | ((repository: string) => GitAuth | undefined);
  /**
   * Where `gitSource` caches clones. @default gitSource's default, outside any clone
   */
  cacheDir?: string;
  /** More `gitSource` options for every repository (CA, proxy, timeouts, HTTP client). */
  git?: Omit<GitSourceOptions, 'url' | 'ref' | 'path' | 'auth' | 'cacheDir'>;
  /**
   * The `fetch` used for single HTTP files.
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
  /** Largest single HTTP file accepted, in bytes. @default 8388608 (8 MiB) */
  maxFileBytes?: number;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

async function artifactFiles(artifact: Artifact): Promise<Array<{ name: string; data: Uint8Array }>> {
  const names = await artifact.files.list();
  return Promise.all(names.map(async (name) => ({ name, data: await artifact.files.read(name) })));
}

/**
 * The default {@link RemoteResolver}: Git URLs through `@converge/git-source` (smart HTTP,
 * cached on disk, auth as in `gitSource`), single files through `fetch`. A `?ref=` of 40 hex
 * digits is a commit; otherwise a tag, else a branch; no `ref` is the default branch.
 *
 * @example
 * ```ts
 * kustomize({ path: 'overlays/prod', remote: gitRemoteResolver({ auth: { token: process.env.GIT_TOKEN } }) });
 * ```
 */
export function gitRemoteResolver(options: GitRemoteResolverOptions = {}): RemoteResolver {
  const maxFileBytes = options.maxFileBytes ?? 8 * 1024 * 1024;

  async function httpFile(url: string, signal?: AbortSignal): Promise<{ data: Uint8Array; digest: string }> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const res = await doFetch(url, { ...(signal && { signal }) });
    if (!res.ok) throw new Error(`${redactUrl(url)}: HTTP ${res.status}`);
    const data = new Uint8Array(await res.arrayBuffer());
    if (data.length > maxFileBytes) throw new Error(`${redactUrl(url)}: larger than ${maxFileBytes} bytes`);
    return { data, digest: createHash('sha256').update(data).digest('hex') };
  }

  /** Tries the ways `?ref=` may be meant (commit, tag, branch) until one works. */
  async function withGit<T>(url: string, signal: AbortSignal | undefined, use: (source: Source) => Promise<T>): Promise<T> {
    const parsed = parseRemoteUrl(url);
    if (parsed.kind !== 'git') throw new Error(`${redactUrl(url)} is not a Git URL`);
    const auth = typeof options.auth === 'function' ? options.auth(parsed.repository) : options.auth;
    const refs: GitSourceOptions['ref'][] =
      parsed.ref === undefined ? [undefined] : /^[0-9a-f]{40}$/.test(parsed.ref) ? [{ commit: parsed.ref }] : [{ tag: parsed.ref }, { branch: parsed.ref }];
    let lastErr: unknown;
    for (const ref of refs) {
      const source = gitSource({
        ...options.git,
        url: parsed.repository,
        ...(ref && { ref }),
        ...(auth && { auth }),
        ...(options.cacheDir && { cacheDir: options.cacheDir }),
      });
      try {
        return await use(source);
      } catch (err) {
        lastErr = err;
        if (signal?.aborted) break;
      }
    }
    const reason = lastErr instanceof Error ? lastErr.message : String(lastErr);
    throw new Error(`cannot fetch ${redactUrl(url)}: ${redactUrl(reason)}`, { cause: lastErr });
  }

  const resolve: RemoteResolver = async (url, { signal }) => {
    const parsed = parseRemoteUrl(url);
    if (parsed.kind === 'http') {
      const { data, digest } = await httpFile(parsed.url, signal);
      return { kind: 'file', id: digest.slice(0, 16), data, revision: `sha256:${digest}` };
    }
    return withGit(url, signal, async (source) => {
      const artifact = await source.fetch(undefined, { ...(signal && { signal }) });
      return { kind: 'dir', id: hash(parsed.repository, artifact.revision), path: parsed.path, revision: artifact.revision, files: await artifactFiles(artifact) };
    });
  };
  resolve.latestRevision = async (url, { signal } = {}) => {
    const parsed = parseRemoteUrl(url);
    if (parsed.kind === 'http') return `sha256:${(await httpFile(parsed.url, signal)).digest}`;
    return withGit(url, signal, (source) => source.latestRevision({ ...(signal && { signal }) }));
  };
  return resolve;
}
