import { SourceError, type ConvergeErrorData } from '@converge/core';

/** Options of every git source error. */
export interface GitErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Structured context. */
  data?: ConvergeErrorData;
}

/**
 * The failure kinds of `@converge/git-source`, as `ConvergeError.code` values; each has the
 * subclass below named in its description, so `instanceof` works as well as a `switch` on the
 * code (checked for completeness by the compiler):
 *
 * - `GIT_AUTH_FAILED` ({@link GitAuthError}), `GIT_UNREACHABLE` ({@link GitUnreachableError}),
 *   `GIT_REF_NOT_FOUND` ({@link GitRefNotFoundError}), `GIT_SIGNATURE_INVALID`
 *   ({@link GitSignatureError}), `GIT_CACHE_CORRUPT` ({@link GitCacheCorruptError}),
 *   `GIT_PUSH_REJECTED` ({@link GitPushRejectedError}), `GIT_REPO_NOT_FOUND`
 *   ({@link GitRepoNotFoundError}), `GIT_TIMEOUT` ({@link GitTimeoutError});
 * - `GIT_TLS_FAILED` — the server's certificate was refused (a private CA not passed in);
 * - `GIT_INVALID_REVISION` — `fetch(revision)` got text that is not a git revision;
 * - `GIT_FAILED` — anything else the server or isomorphic-git reported; `cause` has it.
 */
export type GitSourceErrorCode =
  | 'GIT_AUTH_FAILED'
  | 'GIT_UNREACHABLE'
  | 'GIT_REF_NOT_FOUND'
  | 'GIT_SIGNATURE_INVALID'
  | 'GIT_CACHE_CORRUPT'
  | 'GIT_PUSH_REJECTED'
  | 'GIT_REPO_NOT_FOUND'
  | 'GIT_TIMEOUT'
  | 'GIT_TLS_FAILED'
  | 'GIT_INVALID_REVISION'
  | 'GIT_FAILED';

/**
 * Every error `@converge/git-source` reports (a `SourceError`, so a `ConvergeError`); `code`
 * tells the kind apart (see {@link GitSourceErrorCode}). Credentials never appear in it.
 *
 * @example
 * ```ts
 * try { await source.latestRevision(); } catch (e) {
 *   if (e instanceof GitSourceError && e.code === 'GIT_AUTH_FAILED') console.error('check the token');
 * }
 * ```
 */
export class GitSourceError extends SourceError {
  declare readonly code: GitSourceErrorCode;

  constructor(code: GitSourceErrorCode, message: string, options: GitErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The server refused the credentials (HTTP 401/403), or asked for some and none were given. */
export class GitAuthError extends GitSourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_AUTH_FAILED', message, options);
  }
}

/** The server could not be reached or answered with a server error. Retryable. */
export class GitUnreachableError extends GitSourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_UNREACHABLE', message, { ...options, data: { ...options.data, retryable: true } });
  }
}

/** The branch, tag, semver range, ref name or commit does not exist on the server. */
export class GitRefNotFoundError extends GitSourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_REF_NOT_FOUND', message, options);
  }
}

/** Why a commit's signature was refused. */
export type SignatureProblem = 'unsigned' | 'untrusted' | 'invalid';

/** A commit is unsigned, signed by a key that is not trusted, or its signature does not verify. */
export class GitSignatureError extends GitSourceError {
  constructor(message: string, reason: SignatureProblem, options: GitErrorOptions = {}) {
    super('GIT_SIGNATURE_INVALID', message, { ...options, data: { ...options.data, reason } });
  }
}

/**
 * The local cache directory is damaged (a killed fetch, a truncated object). Internal: the
 * source rebuilds the cache on the next fetch; it only surfaces if rebuilding fails too.
 */
export class GitCacheCorruptError extends GitSourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_CACHE_CORRUPT', message, { ...options, data: { retryable: true, ...options.data } });
  }
}

/** A push was rejected after all retries (the branch kept moving, or a hook refused it). */
export class GitPushRejectedError extends GitSourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_PUSH_REJECTED', message, options);
  }
}

/** The repository does not exist on the server (HTTP 404), or the URL is not a git server. */
export class GitRepoNotFoundError extends GitSourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_REPO_NOT_FOUND', message, options);
  }
}

/** Which wait of an HTTP request ran out. */
export type GitTimeoutPhase = 'connect' | 'response' | 'idle';

/** Where and after how long a request to the git server was cut off. */
export interface GitTimeoutData {
  /**
   * `connect`: the TCP connection was not established; `response`: connected, but no response
   * headers came; `idle`: the response body stopped flowing.
   */
  phase: GitTimeoutPhase;
  /** The request's URL (never with credentials). */
  url: string;
  /** The deadline that ran out, in milliseconds. */
  timeoutMs: number;
}

/**
 * A request to the git server (or the proxy) took longer than one of its deadlines
 * (`connectTimeoutMs`, `responseTimeoutMs`, `idleTimeoutMs`) and was cut off. Retryable.
 */
export class GitTimeoutError extends GitSourceError {
  constructor(message: string, timeout: GitTimeoutData, options: GitErrorOptions = {}) {
    super('GIT_TIMEOUT', message, { ...options, data: { ...options.data, ...timeout, retryable: true } });
  }
}
