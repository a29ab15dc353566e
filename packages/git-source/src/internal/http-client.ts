import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { isIP, type Socket } from 'node:net';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import type { GitTimeoutPhase } from '../errors.js';

/** The deadlines of one request, in milliseconds; `Infinity` turns one off. */
export interface RequestTimeouts {
  /** Opening the TCP connection (to the server, or to the proxy). */
  connectTimeoutMs: number;
  /** From connected to the response headers (includes sending the request body). */
  responseTimeoutMs: number;
  /** The longest silence between two chunks of the response body. */
  idleTimeoutMs: number;
}

/**
 * A request cut off by one of its deadlines. Internal: `toGitError` turns it into a
 * `GitTimeoutError` that names the operation.
 */
export class RequestTimeout extends Error {
  constructor(
    readonly phase: GitTimeoutPhase,
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} ${url}: ${phase} timeout after ${timeoutMs} ms`);
    this.name = 'RequestTimeout';
  }
}

/** An isomorphic-git client that remembers the first deadline one of its requests missed. */
export interface TimedHttpClient extends HttpClient {
  /**
   * The first timeout, if any. isomorphic-git turns a failing response body into a parse
   * error of its own, so the caller asks here what really happened.
   */
  readonly timedOut: RequestTimeout | undefined;
}

/** Transport settings for {@link createHttpClient}. */
export interface HttpClientOptions {
  /** PEM CA bundle trusted in addition to nothing else (replaces the default roots when set). */
  ca?: string | Buffer;
  /** HTTP proxy URL, e.g. `http://proxy:3128`. HTTPS targets are tunnelled with CONNECT. */
  proxy?: string;
  /** Headers added to every request (auth, user agent). */
  headers?: Record<string, string>;
  /** Aborts every request made through this client. */
  signal?: AbortSignal;
  /** Called with the number of response body bytes as they arrive. */
  onBytes?: (n: number) => void;
  /** Deadlines of every request. */
  timeouts: RequestTimeouts;
}

/**
 * An isomorphic-git HTTP client on node:http/node:https with a custom CA, an HTTP proxy
 * (CONNECT tunnel for HTTPS), abort support and per-request deadlines (connect, response
 * headers, body idle), none of which `isomorphic-git/http/node` offers. A request that misses a
 * deadline is destroyed with its socket, so a silent server holds no timer or handle.
 */
export function createHttpClient(options: HttpClientOptions): TimedHttpClient {
  let timedOut: RequestTimeout | undefined;
  const expire = (e: RequestTimeout): RequestTimeout => (timedOut ??= e);
  return {
    get timedOut() {
      return timedOut;
    },
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? await collect(req.body) : undefined;
      const res = await send(req, body, options, expire);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      return {
        url: req.url,
        method: req.method ?? 'GET',
        statusCode: res.statusCode ?? 0,
        statusMessage: res.statusMessage ?? '',
        headers,
        body: iterate(res, options, () => expire(new RequestTimeout('idle', req.method ?? 'GET', req.url, options.timeouts.idleTimeoutMs))),
      };
    },
  };
}

async function collect(body: AsyncIterableIterator<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Yields the response body. The idle deadline only runs while the consumer waits for the next
 * chunk, so a slow consumer is never blamed on the server.
 */
async function* iterate(res: IncomingMessage, options: HttpClientOptions, idle: () => RequestTimeout): AsyncIterableIterator<Uint8Array> {
  const socket = res.socket;
  const chunks = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const cut = (reason: Error): void => {
    res.destroy(reason);
    socket?.destroy();
  };
  const onAbort = (): void => cut(options.signal?.reason instanceof Error ? options.signal.reason : new DOMException('aborted', 'AbortError'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const ms = options.timeouts.idleTimeoutMs;
      const timer = Number.isFinite(ms) ? setTimeout(() => cut(idle()), ms) : undefined;
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      const chunk = next.value;
      options.onBytes?.(chunk.byteLength);
      yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // A consumer that stops early must not leave the socket open.
    await chunks.return?.();
  }
}

/**
 * Arms the connect deadline, then (once the socket is connected) the response deadline; a
 * missed deadline destroys the request. Every timer is cleared when the request ends.
 */
function watch(r: ClientRequest, method: string, url: string, timeouts: RequestTimeouts, expire: (e: RequestTimeout) => RequestTimeout): void {
  let timer: NodeJS.Timeout | undefined;
  const clear = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  const arm = (phase: GitTimeoutPhase, ms: number): void => {
    clear();
    if (Number.isFinite(ms)) timer = setTimeout(() => r.destroy(expire(new RequestTimeout(phase, method, url, ms))), ms);
  };
  arm('connect', timeouts.connectTimeoutMs);
  r.once('socket', (socket: Socket) => {
    if (!socket.connecting) return arm('response', timeouts.responseTimeoutMs);
    socket.once('connect', () => {
      if (timer) arm('response', timeouts.responseTimeoutMs);
    });
  });
  r.once('response', clear);
  r.once('connect', clear);
  r.once('close', clear);
}

function send(
  req: GitHttpRequest,
  body: Buffer | undefined,
  options: HttpClientOptions,
  expire: (e: RequestTimeout) => RequestTimeout,
): Promise<IncomingMessage> {
  const target = new URL(req.url);
  const secure = target.protocol === 'https:';
  const headers: Record<string, string> = { ...options.headers, ...req.headers };
  if (body) headers['content-length'] = String(body.byteLength);
  const base: RequestOptions = {
    method: req.method ?? 'GET',
    headers,
    ...(options.signal && { signal: options.signal }),
  };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const start = (opts: RequestOptions & { ca?: string | Buffer; servername?: string }, useHttps: boolean): void => {
      const r = (useHttps ? httpsRequest : httpRequest)(opts, resolve);
      watch(r, base.method ?? 'GET', req.url, options.timeouts, expire);
      r.on('error', reject);
      r.end(body);
    };
    if (!options.proxy) {
      start(
        {
          ...base,
          host: target.hostname,
          port: target.port || (secure ? 443 : 80),
          path: target.pathname + target.search,
          ...(options.ca !== undefined && { ca: options.ca }),
        },
        secure,
      );
      return;
    }
    const proxy = new URL(options.proxy);
    const proxyAuth = proxy.username
      ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` }
      : {};
    if (!secure) {
      // Plain HTTP through a proxy: send the absolute URI to the proxy.
      start({ ...base, headers: { ...headers, ...proxyAuth }, host: proxy.hostname, port: proxy.port || 80, path: target.href }, false);
      return;
    }
    const hostPort = `${target.hostname}:${target.port || 443}`;
    const connectReq = httpRequest({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: hostPort,
      headers: { host: hostPort, ...proxyAuth },
      ...(options.signal && { signal: options.signal }),
    });
    watch(connectReq, 'CONNECT', `${proxy.origin}/${hostPort}`, options.timeouts, expire);
    connectReq.on('error', reject);
    connectReq.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`proxy refused CONNECT ${hostPort}: ${res.statusCode} ${res.statusMessage ?? ''}`));
        return;
      }
      start(
        {
          ...base,
          host: target.hostname,
          port: target.port || 443,
          path: target.pathname + target.search,
          // With createConnection and no agent, node uses no pool: one tunnel per request.
          createConnection: () =>
            tlsConnect({
              socket,
              host: target.hostname,
              ...(isIP(target.hostname) === 0 && { servername: target.hostname }),
              ...(options.ca !== undefined && { ca: options.ca }),
            }),
        },
        true,
      );
    });
    connectReq.end();
  });
}
