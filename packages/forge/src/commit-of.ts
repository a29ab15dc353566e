const SHA = /(?:^|[@:])([0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The commit a revision names, for the revisions Converge's Git sources make
 * (`main@sha1:<40 hex>`, `sha1:<40 hex>`, a bare commit id); `undefined` for others (a
 * directory digest, an OCI digest), which have no commit to report on.
 *
 * @example
 * ```ts
 * commitOf('main@sha1:2f0c…'); // '2f0c…'
 * ```
 */
export function commitOf(revision: string): string | undefined {
  return SHA.exec(revision)?.[1];
}
