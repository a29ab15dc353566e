import { raceAbort, systemClock } from '@converge/core';
import type { Clock } from '@converge/core';
import { RequestContext } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { KubeHttpError, KubeSinkError, RequestTooLargeError } from './errors.js';
import type { KubeStatus } from './errors.js';
import { APISERVER_MAX_REQUEST_BYTES, TOO_LARGE_ADVICE, formatBytes } from './internal/request-size.js';
import type { RequestLimiter } from './request-limiter.js';

/** What kind of request was sent, for counting. `write` is true for apply, create, update and delete. */
export interface KubeRequestInfo {
  /** The HTTP method. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The URL path and query, e.g. `/api/v1/namespaces/web/configmaps/app?fieldManager=converge`. */
  path: string;
  /** Whether the request changes (or, with dry-run, would change) stored state. */
  write: boolean;
  /** Whether the request was a dry run. */
  dryRun: boolean;
  /** The HTTP status, or `0` if no answer came. */
  status: number;
  /** How long the request took, in milliseconds. */
  durationMs: number;
}

/** One request to the API server. */
export interface KubeRequest {
  /** The HTTP method. */
  method: KubeRequestInfo['method'];
  /** The URL path below the server, e.g. `/api/v1/namespaces`. */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON value, sent as JSON (or as apply YAML, of which JSON is a subset). */
  body?: unknown;
  /** @default 'application/json' when there is a body */
  contentType?: string;
  /**
   * Stops waiting for the request: the promise rejects with the signal's reason at once. A
   * request already sent is not cut off but finishes in the background (its answer read and
   * dropped, still under the transport's timeout and holding its limiter slot), because
   * aborting an HTTP/2 stream mid-flight leaves undici a stream that fails, uncaught, when the
   * connection pool is closed. A request not yet sent is not sent.
   */
  signal?: AbortSignal | undefined;
}

/** Sends authenticated requests to one API server and parses JSON answers. */
export interface KubeTransport {
  /** The API server's base URL. */
  readonly server: string;
  /** Sends a request; resolves with the parsed JSON body of a 2xx answer, rejects with {@link KubeHttpError} otherwise. */
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /**
   * Sends a streaming GET (a watch) and calls `onValue` with each JSON value of the answer (one
   * per line) until the server ends the stream; resolves then, or rejects when `req.signal`
   * aborts. A non-2xx answer rejects with {@link KubeHttpError}. No per-request timeout applies:
   * a watch bounds itself with `timeoutSeconds`. Reported to `onRequest` when it ends.
   */
  stream(req: KubeRequest, onValue: (value: unknown) => void): Promise<void>;
  /**
   * Releases pooled connections once the requests already sent have ended (each within its
   * timeout); calling it again returns the same promise. A request made afterwards, or still
   * waiting for its limiter slot, is not sent: it fails with a non-retryable `TRANSPORT_CLOSED`.
   */
  close(): Promise<void>;
}

/** Options for {@link createTransport}. */
export interface TransportOptions {
  /** Called after every request, answered or not. */
  onRequest?: ((info: KubeRequestInfo) => void) | undefined;
  /**
   * Per-request timeout in milliseconds.
   * @default 30000
   */
  timeoutMs?: number | undefined;
  /**
   * How long authentication headers (tokens) are reused before asking the KubeConfig again.
   * @default 60000
   */
  authTtlMs?: number | undefined;
  /**
   * Largest request body, in bytes, the transport sends. A larger one fails at once with a
   * non-retryable `REQUEST_TOO_LARGE` instead of being uploaded and cut off by the server
   * (kube-apiserver reads at most 3 MiB of a body; etcd stores objects up to 1.5 MiB by
   * default). Raise it only for an API server built with a larger limit.
   * @default 3145728 (3 MiB, kube-apiserver's limit)
   */
  maxRequestBytes?: number | undefined;
  /**
   * Time for request timeouts and the age of cached authentication; tests pass `FakeClock`.
   * @default systemClock
   */
  clock?: Clock | undefined;
  /**
   * Caps requests in flight (and, if set up so, their rate), shared with every other transport
   * given the same limiter. A request waits for a slot before it is sent; its timeout counts
   * from then. Watches (`stream`) take no slot.
   * @default none: every request is sent at once
   */
  limiter?: RequestLimiter | undefined;
}

/** The Kubernetes `Status` an error answer carries, if it is one. */
function parseStatus(text: string): KubeStatus | undefined {
  try {
    const json = JSON.parse(text) as KubeStatus;
    return json && json.kind === 'Status' ? json : undefined;
  } catch {
    return undefined;
  }
}

/** A `Retry-After` header in seconds (kube-apiserver sends whole seconds, never a date). */
function retryAfterSeconds(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : undefined;
}

/**
 * Calls `onValue` with each complete line of `text` parsed as JSON and returns what follows the
 * last newline. A function of its own so that no variable of the streaming loop's suspended
 * frame holds the last line (a watch event, maybe a Secret) while the watch waits for the next.
 */
function emitLines(text: string, onValue: (value: unknown) => void): string {
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    const line = text.slice(start, nl).trim();
    start = nl + 1;
    if (line) onValue(JSON.parse(line));
  }
  return text.slice(start);
}

interface Auth {
  headers: Record<string, string>;
  dispatcher: Dispatcher | undefined;
  at: number;
}

/**
 * A transport on the KubeConfig's own authentication (client certificates, tokens, exec
 * plugins). Request bodies are sent exactly as given, so fields the client library's
 * serializer does not know are never dropped, and one connection pool is reused for all
 * requests.
 */
export function createTransport(kubeConfig: KubeConfig, options: TransportOptions = {}): KubeTransport {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new TypeError('the KubeConfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const authTtlMs = options.authTtlMs ?? 60_000;
  const maxRequestBytes = options.maxRequestBytes ?? APISERVER_MAX_REQUEST_BYTES;
  const clock = options.clock ?? systemClock;
  const limiter = options.limiter;
  let auth: Promise<Auth> | undefined;
  let dispatcher: Dispatcher | undefined;
  let closing: Promise<void> | undefined;

  async function loadAuth(): Promise<Auth> {
    const ctx = new RequestContext(server, 'GET');
    await kubeConfig.applySecurityAuthentication(ctx);
    // client-node builds a new connection pool per call; keep the first one so connections are reused
    // (and open none once closed: the request is refused after this).
    if (!closing) dispatcher ??= ctx.getDispatcher();
    return { headers: { ...ctx.getHeaders() }, dispatcher, at: clock.now() };
  }

  async function currentAuth(fresh: boolean): Promise<Auth> {
    if (!auth || fresh) auth = loadAuth();
    let value: Auth;
    try {
      value = await auth;
    } catch (err) {
      auth = undefined;
      throw err;
    }
    if (clock.now() - value.at > authTtlMs) {
      auth = loadAuth();
      value = await auth;
    }
    return value;
  }

  function urlOf(req: KubeRequest): URL {
    const url = new URL(server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends `req` and reads its answer to the end; `req.signal` only keeps an unsent request from being sent. */
  async function send<T>(req: KubeRequest, retryAuth: boolean): Promise<T> {
    const url = urlOf(req);
    const pathAndQuery = url.pathname + url.search;
    const write = req.method !== 'GET';
    const dryRun = url.searchParams.get('dryRun') === 'All';
    // Refused before sending, so not reported to onRequest: nothing went over the wire.
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const requestBytes = body === undefined ? undefined : Buffer.byteLength(body);
    if (requestBytes !== undefined && requestBytes > maxRequestBytes) {
      throw new RequestTooLargeError(
        `${req.method} ${url.pathname}: the request body is ${formatBytes(requestBytes)} (${requestBytes} bytes), over the ` +
          `limit of ${formatBytes(maxRequestBytes)} (${maxRequestBytes} bytes, maxRequestBytes); not sent. ${TOO_LARGE_ADVICE}`,
        { limitedBy: 'maxRequestBytes', requestBytes, limitBytes: maxRequestBytes },
      );
    }
    const started = performance.now();
    let status = 0;
    const timeout = new AbortController();
    const timer = clock.setTimeout(() => timeout.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    try {
      const { headers, dispatcher: d } = await currentAuth(false);
      if (closing || req.signal?.aborted) {
        // Cancelled, or the transport closed, before it was sent: nothing went over the wire, so nothing to report.
        status = -1;
        throw closing ? closedError(req) : req.signal?.reason;
      }
      // undici's request() rather than fetch(): no WHATWG streams per call, which halves the
      // client's CPU per request on a thousand-object apply.
      const res = await request(url, {
        method: req.method,
        headers: {
          ...headers,
          accept: 'application/json',
          ...(req.body !== undefined && { 'content-type': req.contentType ?? 'application/json' }),
        },
        signal: timeout.signal,
        ...(d && { dispatcher: d }),
        ...(body !== undefined && { body }),
      });
      status = res.statusCode;
      const text = await res.body.text();
      if (status === 401 && retryAuth) {
        options.onRequest?.({ method: req.method, path: pathAndQuery, write, dryRun, status, durationMs: performance.now() - started });
        status = -1;
        await currentAuth(true);
        return await send<T>(req, false);
      }
      if (status < 200 || status > 299) {
        throw new KubeHttpError(status, parseStatus(text), text.slice(0, 500), requestBytes, retryAfterSeconds(res.headers['retry-after']));
      }
      return (text ? JSON.parse(text) : undefined) as T;
    } finally {
      clock.clearTimeout(timer);
      if (status !== -1) {
        options.onRequest?.({ method: req.method, path: pathAndQuery, write, dryRun, status, durationMs: performance.now() - started });
      }
    }
  }

  async function stream(req: KubeRequest, onValue: (value: unknown) => void, retryAuth: boolean): Promise<void> {
    const url = urlOf(req);
    const info = { method: req.method, path: url.pathname + url.search, write: false, dryRun: false };
    const started = performance.now();
    let status = 0;
    try {
      const { headers, dispatcher: d } = await currentAuth(false);
      if (closing) {
        status = -1;
        throw closedError(req);
      }
      const res = await request(url, {
        method: req.method,
        headers: { ...headers, accept: 'application/json' },
        // The server ends a watch after its timeoutSeconds; only the wait for the first byte is ours.
        headersTimeout: timeoutMs,
        bodyTimeout: 0,
        ...(req.signal && { signal: req.signal }),
        ...(d && { dispatcher: d }),
      });
      status = res.statusCode;
      if (status < 200 || status > 299) {
        const text = await res.body.text();
        if (status === 401 && retryAuth) {
          options.onRequest?.({ ...info, status, durationMs: performance.now() - started });
          status = -1;
          await currentAuth(true);
          return await stream(req, onValue, false);
        }
        throw new KubeHttpError(status, parseStatus(text), text.slice(0, 500));
      }
      let rest = '';
      for await (const chunk of res.body) rest = emitLines(rest + (chunk as Buffer).toString('utf8'), onValue);
      if (rest.trim()) onValue(JSON.parse(rest));
    } finally {
      if (status !== -1) options.onRequest?.({ ...info, status, durationMs: performance.now() - started });
    }
  }

  async function limited<T>(to: RequestLimiter, req: KubeRequest): Promise<T> {
    const release = await to.acquire(req.signal);
    try {
      return await send<T>(req, true);
    } finally {
      release();
    }
  }

  return {
    server,
    request: (req) => raceAbort(limiter ? limited(limiter, req) : send(req, true), req.signal),
    stream: (req, onValue) => stream(req, onValue, true),
    close() {
      closing ??= (async () => {
        const d = dispatcher;
        dispatcher = undefined;
        auth = undefined;
        await d?.close();
      })();
      return closing;
    },
  };
}

function closedError(req: KubeRequest): KubeSinkError {
  return new KubeSinkError('TRANSPORT_CLOSED', `${req.method} ${req.path}: the transport was closed, so the request was not sent; use a new sink or transport`, { data: { retryable: false } });
}
