/** A parsed revision string. */
export interface GitRevision {
  /** The branch, tag or ref name, absent for a bare commit. */
  name?: string;
  /** The 40-hex commit id. */
  commit: string;
}

const REVISION = /^(?:(.+)@)?sha1:([0-9a-f]{40})$/;

/**
 * Formats a revision: `main@sha1:<40 hex>` for a branch, `v1.2.0@sha1:…` for a tag,
 * `refs/pull/7/head@sha1:…` for a raw ref name and `sha1:…` for a commit.
 */
export function formatRevision(revision: GitRevision): string {
  return revision.name ? `${revision.name}@sha1:${revision.commit}` : `sha1:${revision.commit}`;
}

/**
 * Parses a revision made by {@link formatRevision}. Also accepts a bare 40-hex commit id.
 * Returns `undefined` for anything else.
 */
export function parseRevision(revision: string): GitRevision | undefined {
  if (/^[0-9a-f]{40}$/.test(revision)) return { commit: revision };
  const m = REVISION.exec(revision);
  if (!m) return undefined;
  return m[1] ? { name: m[1], commit: m[2]! } : { commit: m[2]! };
}
