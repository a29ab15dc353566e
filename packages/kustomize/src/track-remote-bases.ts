import { createHash } from 'node:crypto';
import type { Source } from '@converge/core';
import { kustomizeError } from './errors.js';
import { gitRemoteResolver, type RemoteResolver } from './remote-resolver.js';
import { redactUrl } from './remote-url.js';

/** What {@link trackRemoteBases} returns: use both, the source for the reconciler, the resolver for `kustomize()`. */
export interface TrackedRemoteBases {
  /**
   * The source, whose revision also covers the remote bases the last build used:
   * `<revision>+remote:<sha256 of their current revisions>`. `fetch` accepts such revisions.
   */
  source: Source;
  /** The resolver to pass as `kustomize({ remote })`: it records each remote entry a build uses. */
  remote: RemoteResolver;
}

const SEPARATOR = '+remote:';

/**
 * Makes a change upstream of a remote base a change of revision. A remote base with a
 * floating `?ref=` (a branch) can change while the artifact's own revision does not; since
 * the reconciler reuses the render of an unchanged revision, such a change would otherwise wait
 * for the next commit of the repository holding the overlay.
 *
 * The returned source asks `remote.latestRevision(url)` (one ref lookup per Git base) for each
 * remote entry the last build used, and appends a digest of the answers to the revision. The
 * first pass sees only the artifact's revision (no build has run yet); the second sees the
 * digest once (one extra render); after that the revision changes only when the artifact or a
 * remote base does.
 *
 * @example
 * ```ts
 * const tracked = trackRemoteBases(gitSource({ url: 'https://git.example.com/platform/apps' }));
 * createReconciler({ name: 'web', source: tracked.source, render: kustomize({ path: 'web/prod', remote: tracked.remote }), sink });
 * ```
 */
export function trackRemoteBases(source: Source, resolver: RemoteResolver = gitRemoteResolver()): TrackedRemoteBases {
  const used = new Set<string>();
  const remote: RemoteResolver = async (url, context) => {
    used.add(url);
    return resolver(url, context);
  };
  if (resolver.latestRevision) remote.latestRevision = resolver.latestRevision.bind(resolver);
  const latest = resolver.latestRevision;
  return {
    remote,
    source: {
      id: source.id,
      async latestRevision(options = {}) {
        const own = await source.latestRevision(options);
        if (used.size === 0 || !latest) return own;
        const parts: string[] = [];
        for (const url of [...used].sort()) {
          try {
            parts.push(`${url}=${await latest(url, options)}`);
          } catch (err) {
            throw kustomizeError('KUSTOMIZE_REMOTE_FAILED', `cannot read the revision of remote base ${redactUrl(url)}: ${redactUrl(err instanceof Error ? err.message : String(err))}`, { url: redactUrl(url), retryable: true }, err);
          }
        }
        return `${own}${SEPARATOR}${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)}`;
      },
      async fetch(revision, options) {
        const cut = revision?.lastIndexOf(SEPARATOR) ?? -1;
        const artifact = await source.fetch(revision !== undefined && cut >= 0 ? revision.slice(0, cut) : revision, options);
        return revision !== undefined && cut >= 0 ? { ...artifact, revision } : artifact;
      },
    },
  };
}
