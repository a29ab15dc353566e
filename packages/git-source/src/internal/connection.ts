import { readFile } from 'node:fs/promises';
import type { HttpClient } from 'isomorphic-git';
import type { GitSourceOptions } from '../git-source.js';
import { createHttpClient } from './http-client.js';
import { redactor, splitCredentials } from './redact.js';

/** Removes trailing slashes so `…/x.git/` and `…/x.git` share a cache. */
export function stripTrailing(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Resolved connection settings shared by the source and the writer. */
export interface GitConnection {
  url: string;
  headers: Record<string, string>;
  redact: (text: string) => string;
  http: (signal?: AbortSignal, onBytes?: (n: number) => void) => Promise<HttpClient>;
}

/** Resolves URL, credentials, CA and proxy into a transport factory. */
export function connect(o: Pick<GitSourceOptions, 'url' | 'auth' | 'caFile' | 'ca' | 'proxy' | 'headers' | 'http'>): GitConnection {
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
  let ca: Promise<string | undefined> | undefined;
  return {
    url: split.url,
    headers,
    redact,
    async http(signal, onBytes) {
      if (o.http) return o.http;
      ca ??= o.caFile ? readFile(o.caFile, 'utf8') : Promise.resolve(o.ca);
      const pem = await ca;
      return createHttpClient({
        ...(pem !== undefined && { ca: pem }),
        ...(o.proxy && { proxy: o.proxy }),
        ...(signal && { signal }),
        ...(onBytes && { onBytes }),
      });
    },
  };
}

