import { AbortedError, SinkError, formatRef } from '@converge/core';
import type { ConvergeErrorData, ObjectRef } from '@converge/core';
import { WITHHELD, readServerAnswer } from './internal/server-answer.js';
import { FALLBACK_RULE, STATUS_RULES } from './internal/status-rules.js';

/** The body of a Kubernetes `Status` response, as far as Converge reads it. */
export interface KubeStatus {
  /** Always `Status`. */
  kind?: string;
  /** `Success` or `Failure`. */
  status?: string;
  /** The server's human-readable message. */
  message?: string;
  /** A CamelCase reason, e.g. `Conflict`, `Invalid`, `Forbidden`, `NotFound`. */
  reason?: string;
  /** The HTTP status code. */
  code?: number;
  /** What the status is about, and its causes. */
  details?: KubeStatusDetails;
}

/** The `details` of a {@link KubeStatus}. */
export interface KubeStatusDetails {
  /** The object's name. */
  name?: string;
  /** The object's API group. */
  group?: string;
  /** The resource (or kind) name, e.g. `configmaps`. */
  kind?: string;
  /** One entry per problem, e.g. per invalid field or per conflicting field. */
  causes?: KubeStatusCause[];
}

/** One cause in a {@link KubeStatusDetails}. */
export interface KubeStatusCause {
  /** e.g. `FieldValueInvalid`, `FieldManagerConflict`. */
  reason?: string;
  /** What is wrong with the field. */
  message?: string;
  /** The field path, e.g. `spec.replicas` or `.data.color`. */
  field?: string;
}

/** Everything an error mapper needs to know about the request that failed. */
export interface KubeRequestContext {
  /** The object the request was about. */
  ref?: ObjectRef | undefined;
  /** The Kubernetes verb: `get`, `list`, `watch`, `patch` (apply), `delete`, `create`. */
  verb: string;
  /** The plural resource, e.g. `configmaps`, when known. */
  resource?: string | undefined;
  /**
   * Whether the request is about a Secret. Then no text the server wrote (message, cause
   * messages) reaches the error: only status, reason, field paths and cause reasons.
   */
  secret?: boolean | undefined;
  /** Whether the object's kind is cluster-scoped (the server names a Namespace's own name as its namespace). */
  clusterScoped?: boolean | undefined;
}

/** Codes of the errors kube-sink reports. */
export type KubeErrorCode =
  | 'APPLY_CONFLICT'
  | 'KUBE_INVALID'
  | 'KUBE_FORBIDDEN'
  | 'KUBE_UNAUTHORIZED'
  | 'UNKNOWN_KIND'
  | 'KUBE_NOT_FOUND'
  | 'KUBE_CONFLICT'
  | 'KUBE_UNREACHABLE'
  | 'KUBE_UNAVAILABLE'
  | 'CRD_NOT_ESTABLISHED'
  | 'INVENTORY_INVALID'
  | 'INVENTORY_TOO_LARGE'
  | 'CONCURRENT_WRITER'
  | 'IMMUTABLE_FIELD'
  | 'NAMESPACE_TERMINATING'
  | 'REQUEST_TOO_LARGE'
  | 'KUBE_API_ERROR';

/** Data carried by every kube-sink error. */
export interface KubeErrorData extends ConvergeErrorData {
  /** The HTTP status code, when the server answered. */
  status?: number;
  /** The Kubernetes `Status.reason`, e.g. `Conflict`, `Invalid`, `Forbidden`. */
  reason?: string;
  /** The verb that failed. */
  verb?: string;
  /** True when the server's message was left out because the request was about a Secret. */
  messageWithheld?: boolean;
}

/** The base of every error the Kubernetes sink reports; `code` tells the kinds apart. */
export class KubeSinkError extends SinkError {
  declare readonly code: KubeErrorCode;
  declare readonly data: KubeErrorData;
  constructor(code: KubeErrorCode, message: string, options: { cause?: unknown; data?: KubeErrorData } = {}) {
    super(code, message, options);
  }
}

/** Data of an {@link ApplyConflictError}. */
export interface ApplyConflictData extends KubeErrorData {
  /** The other field managers owning contested fields. */
  managers: string[];
  /** The contested field paths, e.g. `.data.color`. */
  fields: string[];
}

/**
 * Server-side apply refused to change fields another field manager owns (HTTP 409).
 * `data.managers` names the other managers and `data.fields` the contested fields.
 */
export class ApplyConflictError extends KubeSinkError {
  declare readonly code: 'APPLY_CONFLICT';
  declare readonly data: ApplyConflictData;
  constructor(message: string, data: ApplyConflictData, cause?: unknown) {
    super('APPLY_CONFLICT', message, { data, cause });
  }
}

/** Data of a {@link KubeInvalidError}. */
export interface KubeInvalidData extends KubeErrorData {
  /** The invalid field paths, e.g. `spec.replicas`. */
  fields: string[];
}

/** The server rejected the object as invalid (HTTP 422 or 400); `data.fields` names the fields. */
export class KubeInvalidError extends KubeSinkError {
  declare readonly code: 'KUBE_INVALID';
  declare readonly data: KubeInvalidData;
  constructor(message: string, data: KubeInvalidData, cause?: unknown) {
    super('KUBE_INVALID', message, { data, cause });
  }
}

/** Data of a {@link KubeForbiddenError}. */
export interface KubeForbiddenData extends KubeErrorData {
  /** The refused verb, e.g. `patch`. */
  verb: string;
  /** The resource, e.g. `namespaces`. */
  resource: string;
  /** The user the server saw, when it said. */
  user?: string;
}

/** The identity may not do this (HTTP 403); `data.verb` and `data.resource` say what was refused. */
export class KubeForbiddenError extends KubeSinkError {
  declare readonly code: 'KUBE_FORBIDDEN';
  declare readonly data: KubeForbiddenData;
  constructor(message: string, data: KubeForbiddenData, cause?: unknown) {
    super('KUBE_FORBIDDEN', message, { data, cause });
  }
}

/** Data of an {@link UnknownKindError}. */
export interface UnknownKindData extends KubeErrorData {
  /** The apiVersion asked for, when one was. */
  apiVersion?: string;
  /** The API group. */
  group: string;
  /** The kind. */
  kind: string;
}

/** The server does not serve this kind (no CRD installed, wrong apiVersion). */
export class UnknownKindError extends KubeSinkError {
  declare readonly code: 'UNKNOWN_KIND';
  declare readonly data: UnknownKindData;
  constructor(message: string, data: UnknownKindData) {
    super('UNKNOWN_KIND', message, { data });
  }
}

/** The API server could not be reached or did not answer in time. Always retryable. */
export class KubeUnreachableError extends KubeSinkError {
  declare readonly code: 'KUBE_UNREACHABLE';
  constructor(message: string, data: KubeErrorData = {}, cause?: unknown) {
    super('KUBE_UNREACHABLE', message, { data: { ...data, retryable: true }, cause });
  }
}

/** Data of a {@link NamespaceTerminatingError}. */
export interface NamespaceTerminatingData extends KubeErrorData {
  /** The namespace being deleted, when known. */
  namespace?: string;
}

/**
 * The object's Namespace is being deleted (HTTP 403, cause `NamespaceTerminating`), so nothing
 * new can be created in it. Retryable: once the namespace is gone, the next pass creates it
 * again if it is part of the desired state.
 */
export class NamespaceTerminatingError extends KubeSinkError {
  declare readonly code: 'NAMESPACE_TERMINATING';
  declare readonly data: NamespaceTerminatingData;
  constructor(message: string, data: NamespaceTerminatingData, cause?: unknown) {
    super('NAMESPACE_TERMINATING', message, { data: { ...data, retryable: true }, cause });
  }
}

/** Data of a {@link RequestTooLargeError}. */
export interface RequestTooLargeData extends KubeErrorData {
  /** Who refused: the transport's `maxRequestBytes` before sending, the API server (413), or etcd. */
  limitedBy: 'maxRequestBytes' | 'kube-apiserver' | 'etcd';
  /** The request body's size in bytes, when known. */
  requestBytes?: number;
  /** The limit in bytes, when known. */
  limitBytes?: number;
}

/**
 * A request body is larger than the API server or etcd accepts: refused before sending (over
 * the transport's `maxRequestBytes`), by the API server (413) or by etcd ("request is too
 * large"). Not retryable: the same object fails the same way until it is made smaller.
 */
export class RequestTooLargeError extends KubeSinkError {
  declare readonly code: 'REQUEST_TOO_LARGE';
  declare readonly data: RequestTooLargeData;
  constructor(message: string, data: RequestTooLargeData, cause?: unknown) {
    super('REQUEST_TOO_LARGE', message, { data: { ...data, retryable: false }, cause });
  }
}

/** Thrown by the transport for any non-2xx answer; {@link toKubeError} maps it to a typed error. */
export class KubeHttpError extends Error {
  /** The HTTP status code. */
  readonly status: number;
  /** The `Status` the server sent, if it sent one. */
  readonly body: KubeStatus | undefined;
  /** The size of the request body in bytes, when there was one. */
  readonly requestBytes: number | undefined;
  constructor(status: number, body: KubeStatus | undefined, text: string, requestBytes?: number) {
    super(body?.message ?? (text.trim() || `HTTP ${status}`));
    this.name = 'KubeHttpError';
    this.status = status;
    this.body = body;
    this.requestBytes = requestBytes;
  }
}

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

/** The transport refused before sending; name the object, which only the caller knows. */
function withSubject(error: RequestTooLargeError, ctx: KubeRequestContext): RequestTooLargeError {
  if (error.data.ref || !ctx.ref) return error;
  const message = error.message.replace(/^\S+ \S+: /, `${ctx.verb} ${subject(ctx)}: `);
  return new RequestTooLargeError(message, { ...error.data, verb: ctx.verb, ref: ctx.ref });
}

/**
 * Converts a failed request into a typed {@link KubeSinkError}. The mapping of server answers
 * is a table (`internal/status-rules.ts`): 409 apply conflicts name the other field managers
 * and fields, 422/400 and schema mismatches name the invalid fields, 403 names the verb and
 * resource (or, for a Namespace being deleted, a retryable `NAMESPACE_TERMINATING`), 413 and
 * etcd's "request is too large" are `REQUEST_TOO_LARGE`; network failures and timeouts become
 * a retryable `KUBE_UNREACHABLE`.
 *
 * For a request about a Secret (`ctx.secret`) no text the server or the network layer wrote is
 * kept anywhere in the error (message, `data`, `cause`): typed-patch errors, validation messages
 * and admission webhook denials can quote the Secret's values. The error keeps the status,
 * reason, field paths and cause reasons, says the message was withheld, and its `cause` is a
 * Status without any message.
 */
export function toKubeError(thrown: unknown, ctx: KubeRequestContext): KubeSinkError | AbortedError {
  if (thrown instanceof RequestTooLargeError) return withSubject(thrown, ctx);
  if (thrown instanceof KubeSinkError || thrown instanceof AbortedError) return thrown;
  if (thrown instanceof Error && thrown.name === 'AbortError') return new AbortedError(`${ctx.verb} ${subject(ctx)}: aborted`);
  const what = subject(ctx);
  const secret = ctx.secret === true;
  if (!(thrown instanceof KubeHttpError)) {
    const code = networkCode(thrown);
    if (code) {
      const detail = code === 'ETIMEDOUT' ? 'timed out' : `failed (${code})`;
      return new KubeUnreachableError(
        `${ctx.verb} ${what}: the API server is unreachable: request ${detail}; will retry`,
        baseData(ctx),
        // A socket error can hold the request's buffers; for a Secret keep only the code.
        secret ? new Error(`request failed (${code})`) : thrown,
      );
    }
    if (secret) {
      const name = thrown instanceof Error ? thrown.name : typeof thrown;
      return new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${what}: the request failed (${name}); ${WITHHELD}`, {
        data: baseData(ctx),
      });
    }
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${what}: ${message}`, { data: baseData(ctx), cause: thrown });
  }

  const answer = readServerAnswer(thrown, ctx);
  const data = baseData(ctx, answer.status, answer.reason);
  const rule = STATUS_RULES.find((r) => r.matches(answer, ctx)) ?? FALLBACK_RULE;
  return rule.build({ answer, ctx, what, data, requestBytes: thrown.requestBytes });
}

