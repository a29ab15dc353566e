import { AbortedError, ConvergeError } from '@converge/core';
import { GitAuthError, GitSourceError, GitRefNotFoundError, GitRepoNotFoundError, GitTimeoutError, GitUnreachableError, type GitTimeoutPhase } from '../errors.js';
import { RequestTimeout } from './http-client.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

interface Thrown {
  name?: string;
  code?: string;
  message?: string;
  data?: { statusCode?: number; statusMessage?: string };
}

/**
 * Converts whatever isomorphic-git or the transport threw into a typed, credential-free
 * {@link GitSourceError}. `what` names the operation and the (already credential-free) URL.
 */
export function toGitError(thrown: unknown, what: string, redact: (s: string) => string): ConvergeError {
  if (thrown instanceof ConvergeError) return thrown;
  if (thrown instanceof RequestTimeout) return timeoutError(thrown, what, redact);
  const e = (thrown ?? {}) as Thrown;
  const detail = redact(String(e.message ?? thrown));
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR') return new AbortedError(`${what}: aborted`);
  if (e.code === 'HttpError' && e.data?.statusCode !== undefined) {
    const status = e.data.statusCode;
    const data = { statusCode: status };
    if (status === 401 || status === 403) {
      return new GitAuthError(
        `${what}: the server refused the credentials (HTTP ${status}); check the username and password or token`,
        { data },
      );
    }
    if (status === 404) return new GitRepoNotFoundError(`${what}: repository not found (HTTP 404); check the URL`, { data });
    if (status >= 500 || status === 408 || status === 429) {
      return new GitUnreachableError(`${what}: the server answered HTTP ${status}; will retry`, { data });
    }
    return new GitSourceError('GIT_FAILED', `${what}: unexpected HTTP ${status}`, { data });
  }
  if (e.code && TLS_CODES.test(e.code)) {
    return new GitSourceError('GIT_TLS_FAILED', `${what}: the server's TLS certificate was refused (${e.code}); if it is signed by a private CA, pass that CA as caFile or ca`, {
      cause: thrown,
      data: { errno: e.code },
    });
  }
  if (e.code && NETWORK_CODES.has(e.code)) {
    return new GitUnreachableError(`${what}: cannot reach the server (${e.code}); will retry`, { cause: thrown, data: { errno: e.code } });
  }
  if (/socket hang up|other side closed|premature close|ECONNRESET/i.test(detail)) {
    return new GitUnreachableError(`${what}: the connection was cut (${detail}); will retry`, { cause: thrown });
  }
  if (/not our ref|unadvertised object|no such remote ref|not a valid object/i.test(detail)) {
    return new GitRefNotFoundError(`${what}: the server does not have that commit (${detail})`, { cause: thrown });
  }
  if (e.code === 'NotFoundError') return new GitRefNotFoundError(`${what}: ${detail}`, { cause: thrown });
  if (e.code === 'SmartHttpError') {
    return new GitRepoNotFoundError(`${what}: the URL does not answer like a git smart-HTTP server`, { cause: thrown });
  }
  return new GitSourceError('GIT_FAILED', `${what}: ${detail}`, { cause: thrown });
}

const WAITED_FOR: Record<GitTimeoutPhase, (target: string) => string> = {
  connect: (target) => `could not open a connection for ${target}`,
  response: (target) => `connected, but got no response headers for ${target}`,
  idle: (target) => `the response to ${target} stalled (no data)`,
};

function timeoutError(t: RequestTimeout, what: string, redact: (s: string) => string): GitTimeoutError {
  const url = redact(t.url);
  return new GitTimeoutError(
    `${what}: ${WAITED_FOR[t.phase](`${t.method} ${url}`)} within ${t.timeoutMs} ms (${t.phase}TimeoutMs); the server or network is stuck, will retry`,
    { phase: t.phase, url, timeoutMs: t.timeoutMs },
    { cause: t },
  );
}
