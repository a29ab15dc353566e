import { parseImageReference } from '@converge/oci';

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Replaces the tag (and any digest) of an image wherever `image: <repository>[:tag][@digest]`
 * appears in the text, leaving everything else byte for byte. Only the exact repository
 * matches: `ghcr.io/acme/api` does not touch `ghcr.io/acme/api-worker`.
 *
 * @example
 * ```ts
 * replaceImageTag(text, 'ghcr.io/acme/api', 'v1.4.2'); // image: ghcr.io/acme/api:v1.4.2
 * ```
 */
export function replaceImageTag(text: string, repository: string, tag: string): string {
  try {
    // The reference grammar is @converge/oci's, the one image gates and sources use.
    if (parseImageReference(`${repository}:${tag}`).tag !== tag) throw new Error('the tag does not parse as one');
  } catch (error) {
    throw new TypeError(`replaceImageTag: ${JSON.stringify(tag)} is not a valid image tag for ${repository} (${(error as Error).message})`);
  }
  const pattern = new RegExp(
    `(\\bimage:[ \\t]*["']?)${escape(repository)}(?::[\\w][\\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?(?=["']?[ \\t]*(?:#.*)?$)`,
    'gm',
  );
  return text.replace(pattern, (_m, prefix: string) => `${prefix}${repository}:${tag}`);
}
