import { ConvergeError, type ConvergeErrorOptions } from '@converge/core';

/**
 * The failure kinds of `@converge/oci`, as `ConvergeError.code` values. Messages name the
 * registry and repository, never credentials or tokens.
 *
 * - `INVALID_IMAGE_REFERENCE` — an image reference a container runtime would refuse; `data.image`.
 * - `OCI_INVALID_URL` — an `oci://` URL that does not name a registry and repository (or a tag
 *   where one is needed); `data.url`.
 * - `OCI_INVALID_OPTIONS` — options that contradict each other (two refs, no content to push…),
 *   or a tag or digest that is not one by its grammar.
 * - `OCI_NOT_FOUND` — the registry has no such repository, tag, manifest or blob (HTTP 404).
 * - `OCI_NO_MATCHING_TAG` — no tag of the repository satisfies the semver range; `data.range`.
 * - `OCI_DENIED` — the registry or its token service refused the credentials, or there were
 *   none (HTTP 401/403).
 * - `OCI_UNREACHABLE` — no answer: connection refused, DNS, TLS, or the deadline passed;
 *   retryable.
 * - `OCI_REGISTRY_ERROR` — any other answer the protocol does not allow (5xx after retries,
 *   malformed JSON); retryable for 5xx and 429.
 * - `OCI_DIGEST_MISMATCH` — content whose sha256 is not the digest that named it.
 * - `OCI_TOO_LARGE` — a manifest, layer, tag list or unpacked artifact larger than its limit.
 * - `OCI_UNSAFE_ARCHIVE` — an artifact layer (or any archive given to `unpackTar`) with a path
 *   that leaves it, a link pointing outside it (any link, with `links: 'refuse'`), or a
 *   device/FIFO entry; `data.path`, `data.type` (the tar entry's type).
 * - `OCI_UNSUPPORTED_ARTIFACT` — a manifest this package cannot turn into files (an index, no
 *   tar layer, several layers and none of Flux's content type).
 * - `OCI_CREDENTIALS` — a Docker config file that cannot be used (unreadable, malformed, or
 *   relying on a credential helper).
 * - `OCI_REDIRECT_REFUSED` — the registry redirected (or pointed a tag-list `Link` or an upload
 *   `Location`) to plain HTTP elsewhere, or redirected too many times.
 * - `OCI_SIGNATURE_INVALID` — signature verification was asked for, and the artifact has no
 *   signature that verifies with the keys given for its digest.
 * - `REGISTRY_NOT_FOUND`, `REGISTRY_START_FAILED`, `REGISTRY_PUSH_FAILED` — the test registry of
 *   `@converge/oci/testing` is not built, does not start, or refused a test push.
 */
export type OciErrorCode =
  | 'INVALID_IMAGE_REFERENCE'
  | 'OCI_INVALID_URL'
  | 'OCI_INVALID_OPTIONS'
  | 'OCI_NOT_FOUND'
  | 'OCI_NO_MATCHING_TAG'
  | 'OCI_DENIED'
  | 'OCI_UNREACHABLE'
  | 'OCI_REGISTRY_ERROR'
  | 'OCI_DIGEST_MISMATCH'
  | 'OCI_TOO_LARGE'
  | 'OCI_UNSAFE_ARCHIVE'
  | 'OCI_UNSUPPORTED_ARTIFACT'
  | 'OCI_CREDENTIALS'
  | 'OCI_REDIRECT_REFUSED'
  | 'OCI_SIGNATURE_INVALID'
  | 'REGISTRY_NOT_FOUND'
  | 'REGISTRY_START_FAILED'
  | 'REGISTRY_PUSH_FAILED';

/**
 * Every error `@converge/oci` reports; `code` tells the kind apart (see {@link OciErrorCode}),
 * so a `switch` over it is checked for completeness. A source or gate that fails with one fails
 * the pass, which prunes nothing.
 *
 * @example
 * ```ts
 * try { await source.latestRevision(); } catch (e) {
 *   if (e instanceof OciError && e.code === 'OCI_DENIED') console.error('check the registry credentials');
 * }
 * ```
 */
export class OciError extends ConvergeError {
  declare readonly code: OciErrorCode;

  constructor(code: OciErrorCode, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }
}
