import { createHash } from 'node:crypto';
import type { Artifact } from '@converge/core';
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
export type RemoteResolver = (url: string, context: RemoteContext) => Promise<ResolvedRemote>;

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
  return async (url, { signal }) => {
    const parsed = parseRemoteUrl(url);
    if (parsed.kind === 'http') {
      const doFetch = options.fetch ?? globalThis.fetch;
      const res = await doFetch(parsed.url, { ...(signal && { signal }) });
      if (!res.ok) throw new Error(`${redactUrl(url)}: HTTP ${res.status}`);
      const data = new Uint8Array(await res.arrayBuffer());
      if (data.length > maxFileBytes) throw new Error(`${redactUrl(url)}: larger than ${maxFileBytes} bytes`);
      const digest = createHash('sha256').update(data).digest('hex');
      return { kind: 'file', id: digest.slice(0, 16), data, revision: `sha256:${digest}` };
    }
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
        const artifact = await source.fetch(undefined, { ...(signal && { signal }) });
        return { kind: 'dir', id: hash(parsed.repository, artifact.revision), path: parsed.path, revision: artifact.revision, files: await artifactFiles(artifact) };
      } catch (err) {
        lastErr = err;
        if (signal?.aborted) break;
      }
    }
    const reason = lastErr instanceof Error ? lastErr.message : String(lastErr);
    throw new Error(`cannot fetch ${redactUrl(url)}: ${reason}`, { cause: lastErr });
  };
}
