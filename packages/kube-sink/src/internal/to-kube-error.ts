import { AbortedError, formatRef } from '@converge/core';
import { KubeHttpError, KubeSinkError, KubeUnreachableError, RequestTooLargeError } from '../errors.js';
import type { KubeErrorData, KubeRequestContext } from '../errors.js';
import { WITHHELD, readServerAnswer } from './server-answer.js';
import { FALLBACK_RULE, STATUS_RULES } from './status-rules.js';

/** Error codes of Node's network stack and undici that mean "no answer came": retry later. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  // HTTP/2: the server sent GOAWAY (shutting down) or reset the stream.
  'UND_ERR_INFO',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_STREAM_ERROR',
]);

/** The codes of {@link NETWORK_CODES} that mean the request's time ran out rather than its connection failed. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The network code in a throw or its causes; a `TimeoutError` (the transport's deadline) is `ETIMEDOUT`. */
function networkCode(thrown: unknown): string | undefined {
  for (let e: unknown = thrown, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError') return 'ETIMEDOUT';
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function subject(ctx: KubeRequestContext): string {
  return ctx.ref ? formatRef(ctx.ref) : (ctx.resource ?? 'request');
}

function baseData(ctx: KubeRequestContext, status?: number, reason?: string): KubeErrorData {
  const data: KubeErrorData = { verb: ctx.verb };
  if (ctx.ref) data.ref = ctx.ref;
  if (status !== undefined) data.status = status;
  if (reason) data.reason = reason;
  if (ctx.secret) data.messageWithheld = true;
  return data;
}

/** Maps a throw it recognises; `undefined` passes it to the next row. */
type ThrownRule = (thrown: unknown, ctx: KubeRequestContext) => KubeSinkError | AbortedError | undefined;

/**
 * How a throw becomes a typed error, in order; the first row that returns an error wins, and
 * {@link otherFailure} takes the rest. Server answers go through the status table (`STATUS_RULES`).
 */
const THROWN_RULES: readonly ThrownRule[] = [
  // The transport refused before sending; name the object, which only the caller knows.
  (thrown, ctx) => {
    if (!(thrown instanceof RequestTooLargeError)) return undefined;
    if (thrown.data.ref || !ctx.ref) return thrown;
    const message = thrown.message.replace(/^\S+ \S+: /, `${ctx.verb} ${subject(ctx)}: `);
    return new RequestTooLargeError(message, { ...thrown.data, verb: ctx.verb, ref: ctx.ref });
  },
  (thrown) => (thrown instanceof KubeSinkError || thrown instanceof AbortedError ? thrown : undefined),
  (thrown, ctx) => (thrown instanceof Error && thrown.name === 'AbortError' ? new AbortedError(`${ctx.verb} ${subject(ctx)}: aborted`) : undefined),
  (thrown, ctx) => {
    if (!(thrown instanceof KubeHttpError)) return undefined;
    const answer = readServerAnswer(thrown, ctx);
    const data = baseData(ctx, answer.status, answer.reason);
    if (answer.retryAfterMs !== undefined) data.retryAfterMs = answer.retryAfterMs;
    const rule = STATUS_RULES.find((r) => r.matches(answer, ctx)) ?? FALLBACK_RULE;
    return rule.build({ answer, ctx, what: subject(ctx), data, requestBytes: thrown.requestBytes });
  },
  (thrown, ctx) => {
    const code = networkCode(thrown);
    if (!code) return undefined;
    const detail = code === 'ETIMEDOUT' ? 'timed out' : `failed (${code})`;
    return new KubeUnreachableError(
      `${ctx.verb} ${subject(ctx)}: the API server is unreachable: request ${detail}; will retry`,
      { ...baseData(ctx), timedOut: TIMEOUT_CODES.has(code) },
      // A socket error can hold the request's buffers; for a Secret keep only the code.
      ctx.secret ? new Error(`request failed (${code})`) : thrown,
    );
  },
];

/** What no row maps (a parse error, a bug): `KUBE_API_ERROR`, without the throw's text for a Secret. */
function otherFailure(thrown: unknown, ctx: KubeRequestContext): KubeSinkError {
  if (ctx.secret) {
    const name = thrown instanceof Error ? thrown.name : typeof thrown;
    return new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${subject(ctx)}: the request failed (${name}); ${WITHHELD}`, { data: baseData(ctx) });
  }
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${subject(ctx)}: ${message}`, { data: baseData(ctx), cause: thrown });
}

/**
 * Converts a failed request into a typed {@link KubeSinkError}: the one boundary where kube-sink
 * maps unknown throws. Server answers are mapped by a table (`status-rules.ts`): 409 apply
 * conflicts name the other field managers and fields, 422/400 and schema mismatches name the
 * invalid fields, 403 names the verb and resource (or, for a Namespace being deleted, a
 * retryable `NAMESPACE_TERMINATING`), 413 and etcd's "request is too large" are
 * `REQUEST_TOO_LARGE`, 410 is a retryable `KUBE_EXPIRED`, and 429/5xx a retryable
 * `KUBE_UNAVAILABLE` (with `data.retryAfterMs` when the server said when to come back);
 * network failures and timeouts become a retryable `KUBE_UNREACHABLE` (`data.timedOut` tells them apart).
 *
 * For a request about a Secret (`ctx.secret`) no text the server or the network layer wrote is
 * kept anywhere in the error (message, `data`, `cause`): typed-patch errors, validation messages
 * and admission webhook denials can quote the Secret's values. The error keeps the status,
 * reason, field paths and cause reasons, says the message was withheld, and its `cause` is a
 * Status without any message.
 */
export function toKubeError(thrown: unknown, ctx: KubeRequestContext): KubeSinkError | AbortedError {
  for (const rule of THROWN_RULES) {
    const error = rule(thrown, ctx);
    if (error) return error;
  }
  return otherFailure(thrown, ctx);
}
