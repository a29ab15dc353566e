import {
  ApplyConflictError,
  KubeForbiddenError,
  KubeInvalidError,
  KubeSinkError,
  NamespaceTerminatingError,
  RequestTooLargeError,
} from '../errors.js';
import type { KubeErrorCode, KubeErrorData, KubeForbiddenData, KubeRequestContext, RequestTooLargeData } from '../errors.js';
import { ETCD_DEFAULT_MAX_REQUEST_BYTES, TOO_LARGE_ADVICE, formatBytes } from './request-size.js';
import { TYPED_PATCH, UNDECODABLE, WITHHELD } from './server-answer.js';
import type { ServerAnswer } from './server-answer.js';

/** Everything a rule builds its error from. */
export interface RuleInput {
  /** The answer, already stripped of server text for Secrets. */
  answer: ServerAnswer;
  /** The request. */
  ctx: KubeRequestContext;
  /** How messages name the object (or resource). */
  what: string;
  /** `verb`, `ref`, `status`, `reason` (and `messageWithheld`), for every error's `data`. */
  data: KubeErrorData;
  /** The request body's size, when the transport measured one. */
  requestBytes: number | undefined;
}

/** One row of the mapping from a server answer to a typed error. The first matching row wins. */
export interface StatusRule {
  /** The code the row produces. */
  readonly code: KubeErrorCode;
  /** Whether this row maps the answer. */
  matches(answer: ServerAnswer, ctx: KubeRequestContext): boolean;
  /** The error for the answer. */
  build(input: RuleInput): KubeSinkError;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** How the API server words a change to a field that cannot change after creation. */
const IMMUTABLE = /field is immutable|may not change once set|is immutable after creation|updates to \S+ spec for fields other than|pod updates may not change fields/;

/** The server's message, or what stands in its place for a Secret. */
function serverText(a: ServerAnswer): string {
  return a.message ?? `HTTP ${a.status}${a.reason ? ` ${a.reason}` : ''} (${WITHHELD})`;
}

/** For a Secret: the named fields, with the cause reasons, in place of the server's words. */
function fieldList(a: ServerAnswer): string {
  const named = a.causes.filter((c) => c.field).map((c) => (c.reason ? `${c.field} (${c.reason})` : `${c.field}`));
  const fromText = a.fields.filter((f) => !a.causes.some((c) => c.field === f));
  const all = [...named, ...fromText];
  return all.length ? all.join(', ') : 'the server named no field';
}

/**
 * How server answers map to typed errors, in order. Size first (etcd's refusal is a 500 that
 * must not be retried), then conflicts, a terminating namespace before other 403s, validation,
 * permissions, and the statuses worth retrying.
 */
export const STATUS_RULES: readonly StatusRule[] = [
  {
    code: 'REQUEST_TOO_LARGE',
    matches: (a) => a.tooLarge !== undefined,
    build({ answer: a, ctx, what, data, requestBytes }) {
      const by = a.tooLarge?.by ?? 'kube-apiserver';
      const limitBytes = a.tooLarge?.limitBytes ?? (by === 'etcd' ? ETCD_DEFAULT_MAX_REQUEST_BYTES : undefined);
      const tooLarge: RequestTooLargeData = { ...data, limitedBy: by };
      if (requestBytes !== undefined) tooLarge.requestBytes = requestBytes;
      if (limitBytes !== undefined) tooLarge.limitBytes = limitBytes;
      const sent = requestBytes === undefined ? '' : `${formatBytes(requestBytes)} (${requestBytes} bytes) sent, `;
      const cap =
        limitBytes === undefined ? '' : `limit ${formatBytes(limitBytes)}${a.tooLarge?.limitBytes === undefined ? ' by default' : ''}, `;
      return new RequestTooLargeError(
        `${ctx.verb} ${what}: ${by === 'etcd' ? 'the object is too large to store in etcd' : 'the API server refused the request as too large'} (${sent}${cap}` +
          `HTTP ${a.status}); ${TOO_LARGE_ADVICE}`,
        tooLarge,
        a.cause,
      );
    },
  },
  {
    code: 'APPLY_CONFLICT',
    matches: (a) => a.status === 409 && a.causes.some((c) => c.reason === 'FieldManagerConflict'),
    build({ answer: a, what, data }) {
      const fields = a.causes.filter((c) => c.reason === 'FieldManagerConflict' && c.field).map((c) => c.field as string);
      const owners = a.managers.map((m) => `"${m}"`).join(', ') || 'another field manager';
      return new ApplyConflictError(
        `apply ${what}: conflict with field manager ${owners} over ${fields.join(', ') || 'some fields'}; ` +
          'remove these fields from the desired state, or set force: true to take them over',
        { ...data, managers: a.managers, fields },
        a.cause,
      );
    },
  },
  {
    code: 'KUBE_CONFLICT',
    matches: (a) => a.status === 409,
    build: ({ answer: a, ctx, what, data }) =>
      new KubeSinkError('KUBE_CONFLICT', `${ctx.verb} ${what}: ${serverText(a)}`, { data: { ...data, retryable: true }, cause: a.cause }),
  },
  {
    code: 'NAMESPACE_TERMINATING',
    matches: (a) => a.terminating !== undefined,
    build({ answer: a, what, data }) {
      const ns = a.terminating?.namespace;
      return new NamespaceTerminatingError(
        `${what}: namespace ${ns ? `"${ns}" ` : ''}is being deleted, so nothing new can be created in it; ` +
          'the apply will be retried (once the namespace is gone, it is created again if it is part of the desired state)',
        { ...data, ...(ns && { namespace: ns }) },
        a.cause,
      );
    },
  },
  {
    code: 'IMMUTABLE_FIELD',
    // "spec.template: Invalid value: …: field is immutable" (a Job's template, a Deployment's
    // selector), "may not change once set" (a Service's clusterIP), "updates to statefulset spec
    // for fields other than … are forbidden": applying cannot change them; re-creating can.
    matches: (a) => a.status === 422 && a.causes.some((c) => IMMUTABLE.test(c.message ?? '')),
    build({ answer: a, what, data }) {
      const fields = a.causes.filter((c) => IMMUTABLE.test(c.message ?? '')).map((c) => c.field ?? '').filter((f) => f !== '');
      return new KubeSinkError(
        'IMMUTABLE_FIELD',
        `${what}: ${fields.join(', ') || 'a field'} cannot be changed once set (immutable); annotate the object converge.dev/force: enabled to delete and re-create it, or change it back`,
        { data: { ...data, fields }, cause: a.cause },
      );
    },
  },
  {
    code: 'KUBE_INVALID',
    // Server-side apply answers a manifest that does not fit the schema with a 500
    // ("failed to create typed patch object … .spec.foo: field not declared in schema"), and one
    // that does not decode into its type too ("failed to convert new object …: illegal base64 data").
    matches: (a, ctx) =>
      a.status === 422 ||
      (ctx.verb === 'patch' && ((a.status === 500 && (a.typedPatch || a.undecodable)) || (a.status === 400 && a.reason === 'BadRequest'))),
    build({ answer: a, what, data }) {
      const fields = a.fields;
      if (a.typedPatch) {
        const detail = a.message?.replace(TYPED_PATCH, '') ?? `${fieldList(a)}; ${WITHHELD}`;
        return new KubeInvalidError(`${what} does not match its schema: ${detail}`, { ...data, fields }, a.cause);
      }
      if (a.undecodable) {
        const detail = a.message?.replace(UNDECODABLE, '') ?? `for a Secret, often a value under data that is not base64; ${WITHHELD}`;
        return new KubeInvalidError(`${what} cannot be decoded into its type: ${detail}`, { ...data, fields }, a.cause);
      }
      let detail: string;
      if (a.withheld) detail = `${fieldList(a)}; ${WITHHELD}`;
      else if (a.causes.length) {
        detail = a.causes.map((c) => (c.field ? `${c.field}: ${c.message ?? c.reason ?? 'invalid'}` : (c.message ?? ''))).join('; ');
      } else detail = serverText(a);
      return new KubeInvalidError(`${what} is invalid: ${detail}`, { ...data, fields }, a.cause);
    },
  },
  {
    code: 'KUBE_FORBIDDEN',
    matches: (a) => a.status === 403,
    build({ answer: a, ctx, what, data }) {
      const d = a.denial;
      const verb = d?.verb ?? ctx.verb;
      const resource = d?.resource ?? ctx.resource ?? 'unknown';
      const forbidden: KubeForbiddenData = { ...data, verb, resource };
      if (d?.user) forbidden.user = d.user;
      if (!d) {
        // Not the authorizer's wording: an admission webhook or policy refused it; its reason is the message.
        return new KubeForbiddenError(`${what}: forbidden: ${serverText(a)}`, forbidden, a.cause);
      }
      const scope = ctx.clusterScoped || d.namespace === undefined ? 'at cluster scope' : `in namespace "${d.namespace}"`;
      return new KubeForbiddenError(
        `${what}: forbidden: user "${d.user}" may not ${verb} ${d.group ? `${resource}.${d.group}` : resource} ${scope}; ` +
          'grant it with RBAC or leave this object out of the desired state',
        forbidden,
        a.cause,
      );
    },
  },
  {
    code: 'KUBE_UNAUTHORIZED',
    matches: (a) => a.status === 401,
    build: ({ answer: a, ctx, what, data }) =>
      new KubeSinkError('KUBE_UNAUTHORIZED', `${ctx.verb} ${what}: unauthorized: the credentials were rejected`, { data, cause: a.cause }),
  },
  {
    code: 'KUBE_NOT_FOUND',
    matches: (a) => a.status === 404,
    build: ({ answer: a, ctx, what, data }) =>
      new KubeSinkError('KUBE_NOT_FOUND', `${ctx.verb} ${what}: ${serverText(a)}`, { data, cause: a.cause }),
  },
  {
    code: 'KUBE_EXPIRED',
    // A list continued, or read at a resourceVersion, that etcd has compacted away.
    matches: (a) => a.status === 410,
    build: ({ answer: a, ctx, what, data }) =>
      new KubeSinkError('KUBE_EXPIRED', `${ctx.verb} ${what}: ${serverText(a)}; the resource version is no longer kept, the next attempt reads afresh`, {
        data: { ...data, retryable: true },
        cause: a.cause,
      }),
  },
  {
    code: 'KUBE_UNAVAILABLE',
    matches: (a) => RETRY_STATUSES.has(a.status),
    build: ({ answer: a, ctx, what, data }) =>
      new KubeSinkError('KUBE_UNAVAILABLE', `${ctx.verb} ${what}: the API server answered ${a.status}: ${serverText(a)}; will retry`, {
        data: { ...data, retryable: true },
        cause: a.cause,
      }),
  },
];

/** What an answer no row maps becomes. */
export const FALLBACK_RULE: StatusRule = {
  code: 'KUBE_API_ERROR',
  matches: () => true,
  build: ({ answer: a, ctx, what, data }) =>
    new KubeSinkError('KUBE_API_ERROR', `${ctx.verb} ${what}: HTTP ${a.status}: ${serverText(a)}`, { data, cause: a.cause }),
};
