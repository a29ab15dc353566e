import { readFile } from 'node:fs/promises';

/** The level of detail an audit rule records, as kube-apiserver's `audit.k8s.io/v1` names them. */
export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';

/** One rule of an {@link AuditPolicy}; the first rule that matches a request decides its level. */
export interface AuditPolicyRule {
  /** What to record for the requests this rule matches. */
  level: AuditLevel;
  /** Match only these verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, …). @default every verb */
  verbs?: string[];
  /** Match only these users. @default every user */
  users?: string[];
  /** Match only these resources, by API group (`''` for the core group) and plural names. @default every resource */
  resources?: { group?: string; resources?: string[] }[];
  /** Match only these namespaces (`''` for cluster-scoped objects). @default every namespace */
  namespaces?: string[];
}

/** kube-apiserver's audit policy (`audit.k8s.io/v1` `Policy`), written for `--audit-policy-file`. */
export interface AuditPolicy {
  apiVersion: 'audit.k8s.io/v1';
  kind: 'Policy';
  /** Stages not recorded; `RequestReceived` only repeats what `ResponseComplete` says. */
  omitStages?: ('RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic')[];
  /** Tried in order; a request no rule matches is not recorded. */
  rules: AuditPolicyRule[];
}

/** Options of {@link auditPolicy}. */
export interface AuditPolicyOptions {
  /** Record reads (`get`, `list`, `watch`); a test about who wrote what leaves them out, which keeps the log short. @default true */
  reads?: boolean;
  /**
   * Resources recorded at `Request` level, with the request body: e.g. `[{ group: 'coordination.k8s.io', resources: ['leases'] }]`
   * to see who holds a Lease after each write. @default none
   */
  requestBodies?: NonNullable<AuditPolicyRule['resources']>;
}

/**
 * An audit policy for `startTestEnv({ audit: { policy } })`: each request recorded once, when its
 * response is complete, at `Metadata` level, or at `Request` level for `requestBodies`; reads
 * left out when `reads` is false.
 *
 * @example
 * ```ts
 * const env = await startTestEnv({ audit: { policy: auditPolicy({ reads: false, requestBodies: [{ group: '', resources: ['configmaps'] }] }) } });
 * ```
 */
export function auditPolicy(o: AuditPolicyOptions = {}): AuditPolicy {
  const rules: AuditPolicyRule[] = [];
  if (o.reads === false) rules.push({ level: 'None', verbs: ['get', 'list', 'watch'] });
  if (o.requestBodies?.length) rules.push({ level: 'Request', resources: o.requestBodies });
  rules.push({ level: 'Metadata' });
  return { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules };
}

/** The policy `startTestEnv({ audit: {} })` uses unless given one, `auditPolicy()`: every request at `Metadata`, once, when its response is complete. */
export const DEFAULT_AUDIT_POLICY: AuditPolicy = auditPolicy();

/**
 * One event of kube-apiserver's audit log (`audit.k8s.io/v1` `Event`, one JSON object a line):
 * the fields a test reads to tell who did what to which object, and when.
 */
export interface AuditEvent {
  level: AuditLevel;
  /** Unique per request; the stages of one request share it. */
  auditID: string;
  stage: 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';
  requestURI: string;
  /** The Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, … */
  verb: string;
  /** The authenticated user: the certificate CN of a test user, `system:serviceaccount:<ns>:<name>` for a token. */
  user: { username: string; groups?: string[] };
  userAgent?: string;
  sourceIPs?: string[];
  /** The object the request was about, when it was about one. */
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  /** The answer's status; `code` is the HTTP status. */
  responseStatus?: { code?: number; status?: string; reason?: string; message?: string };
  /** The request body, at level `Request` or `RequestResponse`. */
  requestObject?: unknown;
  /** The response body, at level `RequestResponse`. */
  responseObject?: unknown;
  /** When the server received the request (RFC 3339, microseconds). */
  requestReceivedTimestamp: string;
  /** When the server reached this stage (RFC 3339, microseconds). */
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

/**
 * Reads an audit log written by kube-apiserver (`--audit-log-format=json`), e.g. a test
 * environment's `auditLogPath`, in the order the server wrote it. A last line the server is still
 * writing is left out, so the log can be read while the server runs.
 *
 * @example
 * ```ts
 * const env = await startTestEnv({ audit: {} });
 * // … run the code under test …
 * const deletes = (await readAuditLog(env.auditLogPath!)).filter((e) => e.verb === 'delete');
 * ```
 */
export async function readAuditLog(path: string): Promise<AuditEvent[]> {
  const text = await readFile(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditEvent);
}
