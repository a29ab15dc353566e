import { AbortedError, SinkError, formatRef } from '@converge/core';
import type { ConvergeErrorData, ObjectRef } from '@converge/core';

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
  /** Whether the object is a Secret, so values quoted by the server are masked. */
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
  | 'KUBE_API_ERROR';

/** Data carried by every kube-sink error. */
export interface KubeErrorData extends ConvergeErrorData {
  /** The HTTP status code, when the server answered. */
  status?: number;
  /** The Kubernetes `Status.reason`, e.g. `Conflict`, `Invalid`, `Forbidden`. */
  reason?: string;
  /** The verb that failed. */
  verb?: string;
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

/** Thrown by the transport for any non-2xx answer; {@link toKubeError} maps it to a typed error. */
export class KubeHttpError extends Error {
  /** The HTTP status code. */
  readonly status: number;
  /** The `Status` the server sent, if it sent one. */
  readonly body: KubeStatus | undefined;
  constructor(status: number, body: KubeStatus | undefined, text: string) {
    super(body?.message ?? (text.trim() || `HTTP ${status}`));
    this.name = 'KubeHttpError';
    this.status = status;
    this.body = body;
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

/** Masks everything the server quotes back from a Secret (`Invalid value: "…"`). */
function maskQuoted(text: string): string {
  return text.replace(/Invalid value: ("(?:[^"\\]|\\.)*"|\S+)/g, 'Invalid value: *** (masked)');
}

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
  return data;
}

/** A copy of a Status without anything a Secret's values could hide in. */
function safeStatus(body: KubeStatus | undefined, secret: boolean): KubeStatus | undefined {
  if (!body || !secret) return body;
  const copy = structuredClone(body);
  if (copy.message) copy.message = maskQuoted(copy.message);
  for (const cause of copy.details?.causes ?? []) if (cause.message) cause.message = maskQuoted(cause.message);
  return copy;
}

/**
 * Converts a failed request into a typed {@link KubeSinkError}: 409 apply conflicts name the
 * other field managers and fields, 422/400 name the invalid fields, 403 names the verb and
 * resource, network failures and timeouts become a retryable `KUBE_UNREACHABLE`. Values the
 * server quotes back from a Secret are masked.
 */
export function toKubeError(thrown: unknown, ctx: KubeRequestContext): KubeSinkError | AbortedError {
  if (thrown instanceof KubeSinkError || thrown instanceof AbortedError) return thrown;
  if (thrown instanceof Error && thrown.name === 'AbortError') return new AbortedError(`${ctx.verb} ${subject(ctx)}: aborted`);
  const what = subject(ctx);
  if (!(thrown instanceof KubeHttpError)) {
    const code = networkCode(thrown);
    if (code) {
      const detail = code === 'ETIMEDOUT' ? 'timed out' : `failed (${code})`;
      return new KubeUnreachableError(
        `${ctx.verb} ${what}: the API server is unreachable: request ${detail}; will retry`,
        baseData(ctx),
        thrown,
      );
    }
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${what}: ${message}`, { data: baseData(ctx), cause: thrown });
  }

  const secret = ctx.secret === true;
  const body = safeStatus(thrown.body, secret);
  const status = thrown.status;
  const reason = body?.reason;
  const serverMessage = body?.message ?? (secret ? `HTTP ${status}` : thrown.message);
  const data = baseData(ctx, status, reason);
  // Keep the sanitized Status, never the raw body or request.
  const cause = body ?? new Error(`HTTP ${status}`);

  if (status === 409 && (body?.details?.causes ?? []).some((c) => c.reason === 'FieldManagerConflict')) {
    const managers = new Set<string>();
    const fields: string[] = [];
    for (const c of body?.details?.causes ?? []) {
      if (c.reason !== 'FieldManagerConflict') continue;
      const manager = /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1];
      if (manager) managers.add(manager);
      if (c.field) fields.push(c.field);
    }
    const list = [...managers];
    const owners = list.map((m) => `"${m}"`).join(', ') || 'another field manager';
    return new ApplyConflictError(
      `apply ${what}: conflict with field manager ${owners} over ${fields.join(', ') || 'some fields'}; ` +
        'remove these fields from the desired state, or set force: true to take them over',
      { ...data, managers: list, fields },
      cause,
    );
  }
  if (status === 409) {
    return new KubeSinkError('KUBE_CONFLICT', `${ctx.verb} ${what}: ${serverMessage}`, {
      data: { ...data, retryable: true },
      cause,
    });
  }
  // Server-side apply answers a manifest that does not fit the schema with a 500
  // ("failed to create typed patch object … .spec.foo: field not declared in schema").
  const schemaMismatch = status === 500 && ctx.verb === 'patch' && /failed to create typed patch object/.test(serverMessage);
  if (status === 422 || schemaMismatch || (status === 400 && reason === 'BadRequest' && ctx.verb === 'patch')) {
    const causes = body?.details?.causes ?? [];
    const fields = causes.map((c) => c.field).filter((f): f is string => !!f);
    for (const m of serverMessage.matchAll(/(\.[\w.\[\]"=-]+): field not declared in schema/g)) if (m[1]) fields.push(m[1]);
    if (schemaMismatch) {
      const detail = serverMessage.replace(/^failed to create typed patch object \([^)]*\): /, '');
      return new KubeInvalidError(`${what} does not match its schema: ${detail}`, { ...data, fields }, cause);
    }
    const detail = causes.length
      ? causes.map((c) => (c.field ? `${c.field}: ${c.message ?? c.reason ?? 'invalid'}` : (c.message ?? ''))).join('; ')
      : serverMessage;
    return new KubeInvalidError(`${what} is invalid: ${detail}`, { ...data, fields }, cause);
  }
  if (status === 403) {
    const m = /User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)")?/.exec(
      serverMessage,
    );
    const verb = m?.[2] ?? ctx.verb;
    const resource = m?.[3] ?? ctx.resource ?? body?.details?.kind ?? 'unknown';
    const group = m?.[4];
    const scope = ctx.clusterScoped ? 'at cluster scope' : m?.[5] ? `in namespace "${m[5]}"` : m ? 'at cluster scope' : '';
    const forbidden: KubeForbiddenData = { ...data, verb, resource };
    if (m?.[1]) forbidden.user = m[1];
    return new KubeForbiddenError(
      `${what}: forbidden: ${m?.[1] ? `user "${m[1]}"` : 'this identity'} may not ${verb} ` +
        `${group ? `${resource}.${group}` : resource}${scope ? ` ${scope}` : ''}; ` +
        'grant it with RBAC or leave this object out of the desired state',
      forbidden,
      cause,
    );
  }
  if (status === 401) {
    return new KubeSinkError('KUBE_UNAUTHORIZED', `${ctx.verb} ${what}: unauthorized: the credentials were rejected`, {
      data,
      cause,
    });
  }
  if (status === 404) {
    return new KubeSinkError('KUBE_NOT_FOUND', `${ctx.verb} ${what}: ${serverMessage}`, { data, cause });
  }
  if (status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504) {
    return new KubeSinkError('KUBE_UNAVAILABLE', `${ctx.verb} ${what}: the API server answered ${status}: ${serverMessage}; will retry`, {
      data: { ...data, retryable: true },
      cause,
    });
  }
  return new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${what}: HTTP ${status}: ${serverMessage}`, { data, cause });
}
