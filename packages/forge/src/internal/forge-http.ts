import { exponentialBackoff, redactText, sleep, systemClock, type Clock } from '@converge/core';
import { ForgeError, type ForgeErrorCode } from '../forge-error.js';

/** How every provider talks HTTP: deadline, retries (Retry-After first), errors without tokens. */
export interface ForgeHttpOptions {
  forge: 'gitea' | 'github' | 'gitlab';
  /** Values never to print (tokens). */
  secrets: readonly string[];
  fetch?: typeof fetch;
  /** Per request. @default 15000 */
  timeoutMs?: number;
  /** Tries after the first. @default 3 */
  retries?: number;
  /** Longest Retry-After honoured; a longer one fails at once with FORGE_RATE_LIMITED. @default 60000 */
  maxRetryAfterMs?: number;
  clock?: Clock;
}

/** A request the shared client sends. */
export interface ForgeRequest {
  /** For messages, e.g. `set commit status on acme/app`. */
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** JSON-serialised unless a string. */
  body?: unknown;
  signal?: AbortSignal | undefined;
}

/** A successful answer. */
export interface ForgeResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text for other types, `null` for no content. */
  body: unknown;
}

/** The retry and error rules of the providers, around one `fetch`. */
export class ForgeHttp {
  readonly forge: ForgeHttpOptions['forge'];
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxRetryAfterMs: number;
  private readonly clock: Clock;
  private readonly secrets: Set<string>;
  private readonly backoff = exponentialBackoff({ initialMs: 500, maxMs: 10_000 });

  constructor(options: ForgeHttpOptions) {
    this.forge = options.forge;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.retries = Math.max(0, options.retries ?? 3);
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.clock = options.clock ?? systemClock;
    this.secrets = new Set(options.secrets.filter((s) => s.length > 0));
  }

  /** Sends a request, retrying outages, 5xx (not for POST) and rate limits; throws {@link ForgeError}. */
  async send(request: ForgeRequest): Promise<ForgeResponse> {
    // A POST that reached the forge may have taken effect (a second comment): only retried when
    // the forge said it did nothing (429, or 503 with Retry-After).
    const idempotent = request.method !== 'POST';
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.once(request);
      if (outcome.ok) return outcome.response;
      const { error, retryAfterMs, safeToRetry } = outcome;
      const canRetry = attempt <= this.retries && error.retryable && (idempotent || safeToRetry) && !request.signal?.aborted;
      if (!canRetry) throw error;
      const wait = retryAfterMs ?? this.backoff.delay(attempt);
      if (wait > this.maxRetryAfterMs) throw error;
      await sleep(this.clock, wait, request.signal);
    }
  }

  /**
   * Runs a forge library's call (Octokit) with the same deadline, retries and errors as
   * {@link send}: `fn` gets the signal to pass on.
   */
  async retrying<T>(operation: string, idempotent: boolean, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      try {
        return await fn(signal ? AbortSignal.any([signal, timeout]) : timeout);
      } catch (thrown) {
        if (signal?.aborted) throw this.networkError(operation, signal.reason, 'cancelled');
        const error = timeout.aborted ? this.networkError(operation, thrown, `timed out after ${this.timeoutMs} ms`) : this.toError(thrown, operation);
        const canRetry = attempt <= this.retries && error.retryable && (idempotent || error.code === 'FORGE_RATE_LIMITED');
        const wait = (error.data['retryAfterMs'] as number | undefined) ?? this.backoff.delay(attempt);
        if (!canRetry || wait > this.maxRetryAfterMs) throw error;
        await sleep(this.clock, wait, signal);
      }
    }
  }

  /** Maps anything a forge library threw (Octokit's RequestError, a fetch error) to a {@link ForgeError}. */
  toError(thrown: unknown, operation: string): ForgeError {
    if (thrown instanceof ForgeError) return thrown;
    const status = (thrown as { status?: unknown }).status;
    const response = (thrown as { response?: { headers?: Record<string, string>; data?: unknown } }).response;
    // Octokit reports a request that got no answer as status 500 without a response.
    if (typeof status === 'number' && status >= 400 && response) {
      const data = response.data;
      return this.httpError(operation, status, new Headers(response.headers ?? {}), typeof data === 'string' ? data : JSON.stringify(data ?? ''));
    }
    return this.networkError(operation, thrown);
  }

  private async once(request: ForgeRequest): Promise<{ ok: true; response: ForgeResponse } | { ok: false; error: ForgeError; retryAfterMs?: number; safeToRetry: boolean }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetch(request.url, {
        method: request.method,
        headers: { accept: 'application/json', ...(request.body !== undefined && { 'content-type': 'application/json' }), ...request.headers },
        ...(request.body !== undefined && { body: typeof request.body === 'string' ? request.body : JSON.stringify(request.body) }),
        signal,
      });
    } catch (thrown) {
      if (request.signal?.aborted) throw this.networkError(request.operation, request.signal.reason, 'cancelled');
      return { ok: false, error: this.networkError(request.operation, thrown, timeout.aborted ? `timed out after ${this.timeoutMs} ms` : undefined), safeToRetry: false };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (thrown) {
      return { ok: false, error: this.networkError(request.operation, thrown, 'the answer was cut off'), safeToRetry: false };
    }
    if (res.ok) {
      const type = res.headers.get('content-type') ?? '';
      if (res.status === 204 || text === '') return { ok: true, response: { status: res.status, headers: res.headers, body: null } };
      if (!type.includes('json')) return { ok: true, response: { status: res.status, headers: res.headers, body: text } };
      try {
        return { ok: true, response: { status: res.status, headers: res.headers, body: JSON.parse(text) as unknown } };
      } catch {
        throw new ForgeError('FORGE_BAD_RESPONSE', `${this.forge}: ${request.operation}: the answer is not valid JSON`, { data: { forge: this.forge, operation: request.operation, status: res.status } });
      }
    }
    const error = this.httpError(request.operation, res.status, res.headers, text);
    const retryAfterMs = error.data['retryAfterMs'] as number | undefined;
    return { ok: false, error, ...(retryAfterMs !== undefined && { retryAfterMs }), safeToRetry: res.status === 429 || (res.status === 503 && retryAfterMs !== undefined) || error.code === 'FORGE_RATE_LIMITED' };
  }

  /** The error for an HTTP error answer. */
  httpError(operation: string, status: number, headers: Headers, bodyText: string): ForgeError {
    const retryAfterMs = retryAfter(headers, this.clock.now());
    const rateLimited = status === 429 || (status === 403 && (headers.get('x-ratelimit-remaining') === '0' || retryAfterMs !== undefined));
    const code: ForgeErrorCode = rateLimited
      ? 'FORGE_RATE_LIMITED'
      : status === 401
        ? 'FORGE_UNAUTHORIZED'
        : status === 403
          ? 'FORGE_FORBIDDEN'
          : status === 404
            ? 'FORGE_NOT_FOUND'
            : 'FORGE_REQUEST_FAILED';
    const detail = this.redact(serverMessage(bodyText));
    const hint =
      code === 'FORGE_UNAUTHORIZED'
        ? ': check the token (missing, wrong or expired)'
        : code === 'FORGE_FORBIDDEN'
          ? ': the token lacks a scope or the user a permission on the repository'
          : code === 'FORGE_RATE_LIMITED'
            ? `: rate limited${retryAfterMs !== undefined ? `, retry after ${Math.ceil(retryAfterMs / 1000)} s` : ''}`
            : '';
    return new ForgeError(code, `${this.forge}: ${operation}: HTTP ${status}${detail ? ` (${detail})` : ''}${hint}`, {
      data: { forge: this.forge, operation, status, retryable: rateLimited || status >= 500 || status === 408, ...(retryAfterMs !== undefined && { retryAfterMs }) },
    });
  }

  /** The error for a request that got no answer. */
  networkError(operation: string, thrown: unknown, why?: string): ForgeError {
    const cause = thrown instanceof Error ? (thrown.cause instanceof Error ? thrown.cause : thrown) : undefined;
    const reason = why ?? this.redact(cause?.message ?? String(thrown));
    return new ForgeError('FORGE_UNREACHABLE', `${this.forge}: ${operation}: no answer (${reason})`, {
      data: { forge: this.forge, operation, retryable: why !== 'cancelled', timeout: why?.startsWith('timed out') === true },
    });
  }

  private redact(text: string): string {
    return redactText(text, this.secrets);
  }
}

/** Milliseconds from `Retry-After` (seconds or an HTTP date) or GitHub's `x-ratelimit-reset` (epoch seconds). */
function retryAfter(headers: Headers, now: number): number | undefined {
  const value = headers.get('retry-after');
  if (value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers.get('x-ratelimit-reset');
  if (reset && headers.get('x-ratelimit-remaining') === '0' && Number.isFinite(Number(reset))) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

/** The `message` of a JSON error body, else the first 200 characters of the text. */
function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = body.message ?? body.error;
    if (typeof message === 'string') return message.slice(0, 200);
    if (message !== undefined) return JSON.stringify(message).slice(0, 200);
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}
