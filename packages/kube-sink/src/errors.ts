import { SinkError } from '@converge/core';
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
  /** How long to wait before trying again, in seconds (429 and some 5xx answers). */
  retryAfterSeconds?: number;
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
  | 'KUBE_EXPIRED'
  | 'CRD_NOT_ESTABLISHED'
  | 'INVENTORY_INVALID'
  | 'INVENTORY_TOO_LARGE'
  | 'CONCURRENT_WRITER'
  | 'IMMUTABLE_FIELD'
  | 'NAMESPACE_TERMINATING'
  | 'REQUEST_TOO_LARGE'
  | 'TRANSPORT_CLOSED'
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
  /** How long the server asked to wait before trying again (`Retry-After`, or the Status' `retryAfterSeconds`), in milliseconds. */
  retryAfterMs?: number;
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

/** Data of a {@link KubeUnreachableError}. */
export interface KubeUnreachableData extends KubeErrorData {
  /**
   * True when no answer came in time (the transport's `timeoutMs`, or a connect, header or body
   * timeout of the socket), so the request's whole time was spent; false when the connection
   * failed (refused, reset, closed, DNS).
   */
  timedOut?: boolean;
}

/** The API server could not be reached or did not answer in time. Always retryable. */
export class KubeUnreachableError extends KubeSinkError {
  declare readonly code: 'KUBE_UNREACHABLE';
  declare readonly data: KubeUnreachableData;
  constructor(message: string, data: KubeUnreachableData = {}, cause?: unknown) {
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

/** Thrown by the transport for any non-2xx answer; `toKubeError` maps it to a typed error. */
export class KubeHttpError extends Error {
  /** The HTTP status code. */
  readonly status: number;
  /** The `Status` the server sent, if it sent one. */
  readonly body: KubeStatus | undefined;
  /** The size of the request body in bytes, when there was one. */
  readonly requestBytes: number | undefined;
  /** The answer's `Retry-After` header in seconds, when it had one. */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, body: KubeStatus | undefined, text: string, requestBytes?: number, retryAfterSeconds?: number) {
    super(body?.message ?? (text.trim() || `HTTP ${status}`));
    this.name = 'KubeHttpError';
    this.status = status;
    this.body = body;
    this.requestBytes = requestBytes;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
