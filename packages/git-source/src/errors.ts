import { SourceError, type ConvergeErrorData } from '@converge/core';

/** Options of every git source error. */
export interface GitErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Structured context. */
  data?: ConvergeErrorData;
}

/** The server refused the credentials (HTTP 401/403), or asked for some and none were given. */
export class GitAuthError extends SourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_AUTH_FAILED', message, options);
  }
}

/** The server could not be reached or answered with a server error. Retryable. */
export class GitUnreachableError extends SourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_UNREACHABLE', message, { ...options, data: { ...options.data, retryable: true } });
  }
}

/** The branch, tag, semver range, ref name or commit does not exist on the server. */
export class GitRefNotFoundError extends SourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_REF_NOT_FOUND', message, options);
  }
}

/** Why a commit's signature was refused. */
export type SignatureProblem = 'unsigned' | 'untrusted' | 'invalid';

/** A commit is unsigned, signed by a key that is not trusted, or its signature does not verify. */
export class GitSignatureError extends SourceError {
  constructor(message: string, reason: SignatureProblem, options: GitErrorOptions = {}) {
    super('GIT_SIGNATURE_INVALID', message, { ...options, data: { ...options.data, reason } });
  }
}

/**
 * The local cache directory is damaged (a killed fetch, a truncated object). Internal: the
 * source rebuilds the cache on the next fetch; it only surfaces if rebuilding fails too.
 */
export class GitCacheCorruptError extends SourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_CACHE_CORRUPT', message, { ...options, data: { retryable: true, ...options.data } });
  }
}

/** A push was rejected after all retries (the branch kept moving, or a hook refused it). */
export class GitPushRejectedError extends SourceError {
  constructor(message: string, options: GitErrorOptions = {}) {
    super('GIT_PUSH_REJECTED', message, options);
  }
}

/** The repository does not exist on the server (HTTP 404), or the URL is not a git server. */
export class GitRepoNotFoundError extends SourceError {
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
export class GitTimeoutError extends SourceError {
  constructor(message: string, timeout: GitTimeoutData, options: GitErrorOptions = {}) {
    super('GIT_TIMEOUT', message, { ...options, data: { ...options.data, ...timeout, retryable: true } });
  }
}
