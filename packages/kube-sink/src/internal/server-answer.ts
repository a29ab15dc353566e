import type { KubeHttpError, KubeRequestContext, KubeStatus, KubeStatusCause } from '../errors.js';

/** Why a Secret's error has no server text: said once, the same way everywhere. */
export const WITHHELD = "the server's message was withheld because it may contain Secret values";

/** Prefixes of server-side apply's messages for a manifest that does not fit its type. */
export const TYPED_PATCH = /^failed to create typed patch object \([^)\n]*\): /;
export const UNDECODABLE = /^failed to convert new object \([^)\n]*\) to proper version: /;

/** An RBAC denial as the authorizer words it, read field by field. */
export interface RbacDenial {
  /** The user the server saw. */
  user: string;
  /** The refused verb. */
  verb: string;
  /** The refused resource (with `/subresource`). */
  resource: string;
  /** The API group, `''` for the core group. */
  group: string | undefined;
  /** The namespace, or `undefined` at cluster scope. */
  namespace: string | undefined;
}

/**
 * What error mapping may use from one non-2xx answer. For a request about a Secret nothing the
 * server wrote as free text survives here: `message` is `undefined` and causes keep only their
 * reason and field; the facts below are read from the text by anchored patterns and carry no
 * value the manifest held.
 */
export interface ServerAnswer {
  /** The HTTP status code. */
  status: number;
  /** `Status.reason` (a CamelCase word), if the server sent one. */
  reason: string | undefined;
  /** The server's message; `undefined` when withheld. */
  message: string | undefined;
  /** Whether the server's text was withheld because the request was about a Secret. */
  withheld: boolean;
  /** `details.causes`; without `message` when withheld. */
  causes: KubeStatusCause[];
  /** Field paths named by the causes or by a server-side apply typed-patch error, e.g. `.data.color`. */
  fields: string[];
  /** Other field managers named by server-side apply conflict causes. */
  managers: string[];
  /** Server-side apply could not type the manifest against its schema ("failed to create typed patch object"). */
  typedPatch: boolean;
  /** The manifest could not be decoded into its Go type ("failed to convert new object", e.g. invalid base64 under a Secret's `data`). */
  undecodable: boolean;
  /** The RBAC denial, when the 403 is one. */
  denial: RbacDenial | undefined;
  /** Set when the server refused because the namespace is terminating: its name, if known. */
  terminating: { namespace: string | undefined } | undefined;
  /**
   * Set when the request was refused as too large: by kube-apiserver (413) or on its way to
   * etcd ("etcdserver: request is too large", or the gRPC client's "larger than max"), with the
   * limit when the server named it.
   */
  tooLarge: { by: 'kube-apiserver' | 'etcd'; limitBytes: number | undefined } | undefined;
  /** When the server asked to be asked again (`Retry-After`, else `details.retryAfterSeconds`), in milliseconds. */
  retryAfterMs: number | undefined;
  /** What the error keeps as `cause`: the server's Status, without any text when withheld. */
  cause: KubeStatus | Error;
}

const CAMEL_CASE = /^[A-Z][A-Za-z]{0,63}$/;
/**
 * A field path as the API server writes it (`spec.replicas`, `.data.color`, `data[bad key!]`,
 * `.spec.containers[name="app"].image`): one line of printable text. Keys are kept, values
 * never stand in a path.
 */
const FIELD_PATH = /^[\x20-\x7e]{1,256}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RBAC_DENIAL =
  /^(?:forbidden|\S+(?: "(?:[^"\\]|\\.)*")? is forbidden): User "((?:[^"\\]|\\.)*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)")?/;
const MANAGER = /^conflict with "([^"]+)"/;
const TERMINATING = /unable to create new content in namespace (\S+) because it is being terminated/;
/** etcd's refusal, and the API server's etcd client's, passed through as a 500. */
const ETCD_TOO_LARGE = /^(?:etcdserver: request is too large|rpc error: code = ResourceExhausted desc = trying to send message larger than max)/;
/** "limit is 3145728" (413) or "larger than max (2097718 vs. 2097152)" (etcd client). */
const LIMIT = /limit is (\d+)|larger than max \(\d+ vs\. (\d+)\)/;

/** The paths a typed-patch error names, one per error line (`.data.x: expected string, got …`). */
function typedPatchFields(message: string): string[] {
  const rest = message.replace(TYPED_PATCH, '');
  const fields: string[] = [];
  // Values are quoted Go syntax (%#v), so a line can only start with a path the library wrote.
  for (const line of rest.split('\n')) {
    const path = /^\s*(\.\S*?): /.exec(line)?.[1];
    if (path) fields.push(path);
  }
  return fields;
}

function camelCase(word: string | undefined): string | undefined {
  return word && CAMEL_CASE.test(word) ? word : undefined;
}

/**
 * Reads a failed request's answer for error mapping. With `ctx.secret`, the server's message and
 * cause messages are dropped (admission webhooks and typed-patch errors quote Secret values),
 * reasons must be CamelCase words and field paths must look like paths, and `cause` is a Status
 * holding only code, reason and those causes.
 */
export function readServerAnswer(thrown: KubeHttpError, ctx: KubeRequestContext): ServerAnswer {
  const withheld = ctx.secret === true;
  const body = thrown.body;
  const status = thrown.status;
  const text = body?.message ?? thrown.message;
  const rawCauses = Array.isArray(body?.details?.causes) ? body.details.causes : [];
  const reason = withheld ? camelCase(body?.reason) : body?.reason || undefined;

  const causes: KubeStatusCause[] = rawCauses.map((c) => {
    if (!withheld) return c;
    const safe: KubeStatusCause = {};
    const r = camelCase(c.reason);
    if (r) safe.reason = r;
    if (c.field && FIELD_PATH.test(c.field)) safe.field = c.field;
    return safe;
  });
  const typedPatch = TYPED_PATCH.test(text);
  const fields = [...causes.map((c) => c.field), ...(typedPatch ? typedPatchFields(text) : [])].filter(
    (f): f is string => !!f && (!withheld || FIELD_PATH.test(f)),
  );
  const managers = new Set<string>();
  for (const c of rawCauses) {
    const m = c.reason === 'FieldManagerConflict' ? MANAGER.exec(c.message ?? '')?.[1] : undefined;
    if (m) managers.add(m);
  }

  const rbac = status === 403 ? RBAC_DENIAL.exec(text) : null;
  const denial: RbacDenial | undefined = rbac
    ? { user: rbac[1] ?? '', verb: rbac[2] ?? '', resource: rbac[3] ?? '', group: rbac[4], namespace: rbac[5] }
    : undefined;

  let terminating: ServerAnswer['terminating'];
  const terminatingMatch = TERMINATING.exec(text);
  if (status === 403 && (rawCauses.some((c) => c.reason === 'NamespaceTerminating') || terminatingMatch)) {
    const named = terminatingMatch?.[1];
    terminating = { namespace: named && DNS_LABEL.test(named) ? named : ctx.ref?.namespace };
  }

  let tooLarge: ServerAnswer['tooLarge'];
  const byServer = status === 413 || body?.reason === 'RequestEntityTooLarge';
  if (byServer || (status === 500 && ETCD_TOO_LARGE.test(text))) {
    const limit = LIMIT.exec(text);
    const limitBytes = limit ? Number(limit[1] ?? limit[2]) : undefined;
    tooLarge = { by: byServer ? 'kube-apiserver' : 'etcd', limitBytes };
  }

  const retryAfterSeconds = thrown.retryAfterSeconds ?? body?.details?.retryAfterSeconds;
  const retryAfterMs = typeof retryAfterSeconds === 'number' && retryAfterSeconds >= 0 ? retryAfterSeconds * 1000 : undefined;

  let cause: KubeStatus | Error;
  if (!body) cause = new Error(`HTTP ${status}`);
  else if (!withheld) cause = body;
  else {
    cause = { kind: 'Status', status: 'Failure', code: status };
    if (reason) cause.reason = reason;
    if (causes.length) cause.details = { causes };
  }

  return {
    status,
    reason,
    message: withheld ? undefined : text,
    withheld,
    causes,
    fields,
    managers: [...managers],
    typedPatch,
    undecodable: UNDECODABLE.test(text),
    denial,
    terminating,
    tooLarge,
    retryAfterMs,
    cause,
  };
}
