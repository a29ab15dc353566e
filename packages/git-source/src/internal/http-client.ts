import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { isIP, type Socket } from 'node:net';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

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
}

/**
 * An isomorphic-git HTTP client on node:http/node:https with a custom CA, an HTTP proxy
 * (CONNECT tunnel for HTTPS) and abort support, none of which `isomorphic-git/http/node` offers.
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? await collect(req.body) : undefined;
      const res = await send(req, body, options);
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
        body: iterate(res, options.onBytes),
      };
    },
  };
}

async function collect(body: AsyncIterableIterator<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* iterate(res: IncomingMessage, onBytes?: (n: number) => void): AsyncIterableIterator<Uint8Array> {
  for await (const chunk of res as AsyncIterable<Buffer>) {
    onBytes?.(chunk.byteLength);
    yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

function send(req: GitHttpRequest, body: Buffer | undefined, options: HttpClientOptions): Promise<IncomingMessage> {
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
