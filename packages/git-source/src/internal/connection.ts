import { readFile } from 'node:fs/promises';
import type { HttpClient } from 'isomorphic-git';
import { AbortedError, type ConvergeError } from '@converge/core';
import type { GitSourceOptions } from '../git-source.js';
import { abortableHttp } from './abortable-http.js';
import { createHttpClient, type RequestTimeouts, type TimedHttpClient } from './http-client.js';
import { redactor, splitCredentials } from './redact.js';
import { toGitError } from './to-git-error.js';

/** Removes trailing slashes so `…/x.git/` and `…/x.git` share a cache. */
export function stripTrailing(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The request deadlines used when an option is not set; documented on {@link GitSourceOptions}. */
export const DEFAULT_TIMEOUTS: RequestTimeouts = { connectTimeoutMs: 10_000, responseTimeoutMs: 30_000, idleTimeoutMs: 30_000 };

/** The transport of one operation (a ref lookup, a fetch, a push) and how its failures read. */
export interface GitCall {
  /** The isomorphic-git HTTP client, bound to the operation's signal and byte counter. */
  http: HttpClient;
  /**
   * Turns what the operation threw into a typed error: `AbortedError` if the signal aborted,
   * `GitTimeoutError` if a request missed a deadline, else {@link toGitError}.
   */
  fail(thrown: unknown, what: string): ConvergeError;
}

/** Resolved connection settings shared by the source and the writer. */
export interface GitConnection {
  url: string;
  headers: Record<string, string>;
  redact: (text: string) => string;
  /** Opens the transport for one operation. */
  open: (signal?: AbortSignal, onBytes?: (n: number) => void) => Promise<GitCall>;
}

type ConnectOptions = Pick<
  GitSourceOptions,
  'url' | 'auth' | 'caFile' | 'ca' | 'proxy' | 'headers' | 'http' | 'connectTimeoutMs' | 'responseTimeoutMs' | 'idleTimeoutMs'
>;

/** Resolves URL, credentials, CA, proxy and deadlines into a transport factory. */
export function connect(o: ConnectOptions): GitConnection {
  const split = splitCredentials(stripTrailing(o.url));
  const auth = { ...(split.username && { username: split.username }), ...(split.password && { password: split.password }), ...o.auth };
  const headers: Record<string, string> = { ...o.headers };
  if (auth.token && auth.tokenType === 'bearer') {
    headers.Authorization = `Bearer ${auth.token}`;
  } else if (auth.username || auth.password || auth.token) {
    const user = auth.username ?? (auth.token ? 'x-access-token' : '');
    const pass = auth.password ?? auth.token ?? '';
    headers.Authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  const redact = redactor([auth.password, auth.token, headers.Authorization?.split(' ')[1]]);
  const timeouts = resolveTimeouts(o);
  let ca: Promise<string | undefined> | undefined;
  return {
    url: split.url,
    headers,
    redact,
    async open(signal, onBytes) {
      let timed: TimedHttpClient | undefined;
      let http: HttpClient;
      if (o.http) {
        http = abortableHttp(o.http, signal);
      } else {
        ca ??= o.caFile ? readFile(o.caFile, 'utf8') : Promise.resolve(o.ca);
        const pem = await ca;
        http = timed = createHttpClient({
          timeouts,
          ...(pem !== undefined && { ca: pem }),
          ...(o.proxy && { proxy: o.proxy }),
          ...(signal && { signal }),
          ...(onBytes && { onBytes }),
        });
      }
      return {
        http,
        fail(thrown, what) {
          if (signal?.aborted) return new AbortedError(`${what}: aborted`);
          return toGitError(timed?.timedOut ?? thrown, what, redact);
        },
      };
    },
  };
}

function resolveTimeouts(o: ConnectOptions): RequestTimeouts {
  const out = { ...DEFAULT_TIMEOUTS };
  for (const key of Object.keys(out) as (keyof RequestTimeouts)[]) {
    const ms = o[key];
    if (ms === undefined) continue;
    if (typeof ms !== 'number' || Number.isNaN(ms) || ms <= 0) throw new TypeError(`git: ${key} must be a positive number of milliseconds or Infinity (got ${String(ms)})`);
    out[key] = ms;
  }
  return out;
}
