import { ConvergeError, type ConvergeErrorOptions } from '@converge/core';

/**
 * The failure kinds of `@converge/forge`, as `ConvergeError.code` values.
 *
 * - `FORGE_UNREACHABLE` — no answer: connection refused, DNS, TLS or the request timed out
 *   (`data.timeout` is true then). Retryable.
 * - `FORGE_UNAUTHORIZED` — HTTP 401: the token is missing, wrong or expired.
 * - `FORGE_FORBIDDEN` — HTTP 403 (not a rate limit): the token lacks a scope or the user a permission.
 * - `FORGE_NOT_FOUND` — HTTP 404: no such repository, commit or merge request (or the token cannot see it).
 * - `FORGE_RATE_LIMITED` — HTTP 429 (or GitHub's 403 with `x-ratelimit-remaining: 0`) still
 *   after the retries; `data.retryAfterMs` is when the forge said to come back. Retryable.
 * - `FORGE_REQUEST_FAILED` — any other HTTP error; 5xx are retryable. `data.status` has the status.
 * - `FORGE_BAD_RESPONSE` — the forge answered with something that is not the documented shape.
 * - `FORGE_INVALID_OPTIONS` — options that cannot work (no token, a repository not `owner/name`, …).
 * - `WEBHOOK_SIGNATURE_INVALID` — a webhook delivery whose signature or token does not match the secret.
 * - `WEBHOOK_PAYLOAD_INVALID` — a webhook delivery whose body is not the JSON the forge documents.
 *
 * Every error has `data.forge` (`gitea`, `github` or `gitlab`); request errors also `data.operation`
 * (e.g. `set commit status`) and `data.status`. Tokens never appear in a message or in `data`.
 */
export type ForgeErrorCode =
  | 'FORGE_UNREACHABLE'
  | 'FORGE_UNAUTHORIZED'
  | 'FORGE_FORBIDDEN'
  | 'FORGE_NOT_FOUND'
  | 'FORGE_RATE_LIMITED'
  | 'FORGE_REQUEST_FAILED'
  | 'FORGE_BAD_RESPONSE'
  | 'FORGE_INVALID_OPTIONS'
  | 'WEBHOOK_SIGNATURE_INVALID'
  | 'WEBHOOK_PAYLOAD_INVALID';

/**
 * Every error `@converge/forge` reports: one class, `code` from the closed union
 * {@link ForgeErrorCode}. `retryable` is true for outages, rate limits and 5xx answers, so a
 * reconciler gate or a fleet pass that fails with it is retried with backoff and tears nothing down.
 *
 * @example
 * ```ts
 * try {
 *   await forge.setCommitStatus(sha, { context: 'converge/prod', state: 'success' });
 * } catch (e) {
 *   if (e instanceof ForgeError && e.code === 'FORGE_UNAUTHORIZED') console.error('check GITEA_TOKEN');
 * }
 * ```
 */
export class ForgeError extends ConvergeError {
  declare readonly code: ForgeErrorCode;
  constructor(code: ForgeErrorCode, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }
}
