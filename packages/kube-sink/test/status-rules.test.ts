import { AbortedError } from '@converge/core';
import { describe, expect, it } from 'vitest';
import { KubeHttpError, KubeSinkError, toKubeError } from '../src/index.js';
import type { KubeRequestContext, KubeStatus } from '../src/index.js';
import { RequestTooLargeError } from '../src/errors.js';
import recorded from './fixtures/server-answers.json' with { type: 'json' };
import { leakedMarkers, reachableText } from './leak-check.js';
import type { RecordedAnswer as Recorded, RecordedThrow } from './recorded-answer.js';

/** The recorded throw rebuilt as the transport threw it (a DOMException for its deadline). */
function rethrown(t: RecordedThrow): Error {
  if (t.name === 'TimeoutError') return new DOMException(t.message, 'TimeoutError');
  const error = Object.assign(new Error(t.message, t.cause && { cause: rethrown(t.cause) }), t.code !== undefined && { code: t.code });
  error.name = t.name;
  return error;
}

/**
 * Answers recorded from a real kube-apiserver v1.36 + etcd (kube-testenv), one per case the
 * mapping table handles; the integration tests (errors, secret-errors, namespace-terminating,
 * request-size, fault-injection) provoke the same kinds of answers live.
 */
const answers = new Map((recorded as Recorded[]).map((r) => [r.name, r]));

function mapRecorded(name: string, ctx?: Partial<KubeRequestContext>): KubeSinkError | AbortedError {
  const r = answers.get(name);
  if (!r) throw new Error(`no recorded answer "${name}"`);
  const thrown = r.thrown ? rethrown(r.thrown) : new KubeHttpError(r.status, r.body ?? undefined, r.text ?? '', r.requestBytes, r.retryAfterSeconds);
  return toKubeError(thrown, { ...r.ctx, ...ctx });
}

const WITHHELD = "the server's message was withheld because it may contain Secret values";

interface Row {
  answer: string;
  code: string;
  retryable: boolean;
  data?: Record<string, unknown>;
  message: (string | RegExp)[];
}

const rows: Row[] = [
  { answer: 'apply-conflict', code: 'APPLY_CONFLICT', retryable: false, data: { managers: ['team-b-deployer'], fields: ['.data.color'], status: 409, reason: 'Conflict' }, message: ['conflict with field manager "team-b-deployer" over .data.color', 'force: true'] },
  { answer: 'delete-precondition', code: 'KUBE_CONFLICT', retryable: true, data: { status: 409 }, message: ['delete ConfigMap rec/shared: Operation cannot be fulfilled', 'the UID in the precondition'] },
  { answer: 'invalid-replicas', code: 'KUBE_INVALID', retryable: false, data: { fields: ['spec.replicas'], status: 422, reason: 'Invalid' }, message: [/Deployment\.apps rec\/api is invalid: spec\.replicas: .*greater than or equal to 0/] },
  { answer: 'unknown-field', code: 'KUBE_INVALID', retryable: false, data: { fields: ['.dataa'], status: 500 }, message: ['ConfigMap rec/typo does not match its schema: .dataa: field not declared in schema'] },
  { answer: 'configmap-over-1MiB', code: 'KUBE_INVALID', retryable: false, data: { fields: ['[]'] }, message: ['may not be more than 1048576 bytes'] },
  { answer: 'bad-request-managed-fields', code: 'KUBE_INVALID', retryable: false, data: { status: 400, reason: 'BadRequest', fields: [] }, message: ['ConfigMap rec/mf is invalid: metadata.managedFields must be nil'] },
  { answer: 'forbidden-cluster-scope', code: 'KUBE_FORBIDDEN', retryable: false, data: { verb: 'patch', resource: 'namespaces', user: 'team-bot', status: 403 }, message: ['Namespace rec-extra: forbidden: user "team-bot" may not patch namespaces at cluster scope', 'grant it with RBAC'] },
  { answer: 'forbidden-apps-group', code: 'KUBE_FORBIDDEN', retryable: false, data: { verb: 'patch', resource: 'deployments', user: 'team-bot' }, message: ['may not patch deployments.apps in namespace "rec"'] },
  { answer: 'namespace-terminating', code: 'NAMESPACE_TERMINATING', retryable: true, data: { namespace: 'term', status: 403, reason: 'Forbidden' }, message: ['ConfigMap term/new: namespace "term" is being deleted', 'the apply will be retried'] },
  { answer: 'unauthorized', code: 'KUBE_UNAUTHORIZED', retryable: false, data: { status: 401 }, message: ['get ConfigMap rec/shared: unauthorized: the credentials were rejected'] },
  { answer: 'not-found', code: 'KUBE_NOT_FOUND', retryable: false, data: { status: 404, reason: 'NotFound' }, message: ['get ConfigMap rec/missing: configmaps "missing" not found'] },
  { answer: 'namespace-not-found', code: 'KUBE_NOT_FOUND', retryable: false, message: ['patch ConfigMap nowhere/a: namespaces "nowhere" not found'] },
  { answer: 'unsupported-media-type', code: 'KUBE_API_ERROR', retryable: false, data: { status: 415, reason: 'UnsupportedMediaType' }, message: ['patch ConfigMap rec/x: HTTP 415: 415: Unsupported Media Type'] },
  { answer: 'too-large-413', code: 'REQUEST_TOO_LARGE', retryable: false, data: { limitedBy: 'kube-apiserver', limitBytes: 3145728, status: 413 }, message: ['patch ConfigMap rec/big: the API server refused the request as too large (4.0 MiB', 'limit 3.0 MiB', 'HTTP 413'] },
  { answer: 'too-large-etcd', code: 'REQUEST_TOO_LARGE', retryable: false, data: { limitedBy: 'etcd', limitBytes: 1572864, status: 500 }, message: ['the object is too large to store in etcd (1.7 MiB', 'limit 1.5 MiB by default'] },
  { answer: 'too-large-grpc', code: 'REQUEST_TOO_LARGE', retryable: false, data: { limitedBy: 'etcd', limitBytes: 2097152 }, message: ['the object is too large to store in etcd (2.0 MiB', 'limit 2.0 MiB,'] },
  { answer: 'already-exists', code: 'KUBE_CONFLICT', retryable: true, data: { status: 409, reason: 'AlreadyExists', verb: 'create' }, message: ['create ConfigMap rec/shared: configmaps "shared" already exists'] },
  { answer: 'webhook-unreachable', code: 'KUBE_UNAVAILABLE', retryable: true, data: { status: 500, reason: 'InternalError' }, message: ['patch ConfigMap hooked/a: the API server answered 500: Internal error occurred: failed calling webhook "unreachable.converge.dev"', 'will retry'] },
  { answer: 'throttled', code: 'KUBE_UNAVAILABLE', retryable: true, data: { status: 429, retryAfterMs: 1000, verb: 'list' }, message: ['list configmaps: the API server answered 429: Too many requests, please try again later.; will retry'] },
  { answer: 'expired-continue', code: 'KUBE_EXPIRED', retryable: true, data: { status: 410, reason: 'Expired' }, message: ['list configmaps: The provided continue parameter is too old', 'the next attempt reads afresh'] },
  { answer: 'connection-refused', code: 'KUBE_UNREACHABLE', retryable: true, data: { verb: 'get', timedOut: false }, message: ['get ConfigMap rec/shared: the API server is unreachable: request failed (ECONNREFUSED); will retry'] },
  { answer: 'timeout', code: 'KUBE_UNREACHABLE', retryable: true, data: { verb: 'get', timedOut: true }, message: ['get ConfigMap rec/shared: the API server is unreachable: request timed out; will retry'] },
  // Secrets: the same answers, withheld.
  { answer: 'secret-already-exists', code: 'KUBE_CONFLICT', retryable: true, data: { status: 409, reason: 'AlreadyExists', messageWithheld: true }, message: [`create Secret rec/shared: HTTP 409 AlreadyExists (${WITHHELD})`] },
  { answer: 'secret-timeout', code: 'KUBE_UNREACHABLE', retryable: true, data: { messageWithheld: true, timedOut: true }, message: ['patch Secret rec/shared: the API server is unreachable: request timed out; will retry'] },
  { answer: 'secret-apply-conflict', code: 'APPLY_CONFLICT', retryable: false, data: { managers: ['team-b-deployer'], fields: ['.data.password'], messageWithheld: true }, message: ['apply Secret rec/shared: conflict with field manager "team-b-deployer" over .data.password'] },
  { answer: 'secret-number', code: 'KUBE_INVALID', retryable: false, data: { fields: ['.stringData.pin'], status: 500, messageWithheld: true }, message: [`Secret rec/num does not match its schema: .stringData.pin; ${WITHHELD}`] },
  // The server lists the two type errors in either order.
  { answer: 'secret-list-and-map', code: 'KUBE_INVALID', retryable: false, data: { fields: expect.arrayContaining(['.data.token', '.stringData.creds']) }, message: ['Secret rec/lm does not match its schema: ', '.data.token', '.stringData.creds', `; ${WITHHELD}`] },
  { answer: 'secret-invalid-base64', code: 'KUBE_INVALID', retryable: false, data: { status: 500, fields: [], messageWithheld: true }, message: [`Secret rec/b64 cannot be decoded into its type: for a Secret, often a value under data that is not base64; ${WITHHELD}`] },
  { answer: 'secret-invalid-key', code: 'KUBE_INVALID', retryable: false, data: { fields: ['data[bad key!]'], reason: 'Invalid' }, message: [`Secret rec/badkey is invalid: data[bad key!] (FieldValueInvalid); ${WITHHELD}`] },
  { answer: 'secret-over-1MiB', code: 'KUBE_INVALID', retryable: false, data: { fields: ['data'] }, message: [`Secret rec/huge is invalid: data (FieldValueTooLong); ${WITHHELD}`] },
  { answer: 'forbidden-namespaced-secret', code: 'KUBE_FORBIDDEN', retryable: false, data: { verb: 'patch', resource: 'secrets', user: 'team-bot', messageWithheld: true }, message: ['Secret rec/db: forbidden: user "team-bot" may not patch secrets in namespace "rec"'] },
  { answer: 'secret-policy-denial', code: 'KUBE_FORBIDDEN', retryable: false, data: { status: 403, reason: 'Forbidden', resource: 'secrets', messageWithheld: true }, message: [`Secret rec/vap: forbidden: HTTP 403 Forbidden (${WITHHELD})`] },
  { answer: 'secret-not-found', code: 'KUBE_NOT_FOUND', retryable: false, data: { status: 404, reason: 'NotFound', messageWithheld: true }, message: [`get Secret rec/missing: HTTP 404 NotFound (${WITHHELD})`] },
];

/** Values the recorded Secret answers quote (see the recorded messages). */
const SECRET_VALUES = ['MKTHEIRSVALUE1', 'MKOURSVALUE123', '918273645012', 'MKLISTVALUE123', 'MKMAPVALUE1234', 'MKBADB64VALUE', 'MKBADKEYVALUE1', 'MKRBACVALUE123', 'MKPOLICYVALUE1'];

describe('toKubeError over answers recorded from a real API server', () => {
  it.each(rows)('$answer → $code', (row) => {
    const error = mapRecorded(row.answer);
    expect(error).toBeInstanceOf(KubeSinkError);
    expect(error.code).toBe(row.code);
    expect(error.retryable).toBe(row.retryable);
    const ref = answers.get(row.answer)?.ctx.ref;
    expect(error.data).toMatchObject({ ...row.data, ...(ref && { ref }) });
    for (const m of row.message) {
      if (typeof m === 'string') expect(error.message).toContain(m);
      else expect(error.message).toMatch(m);
    }
  });

  it('covers every recorded answer', () => {
    expect(new Set(rows.map((r) => r.answer))).toEqual(new Set(answers.keys()));
  });

  const secretRows = rows.filter((r) => answers.get(r.answer)?.ctx.secret);

  const answeredSecretRows = secretRows.filter((r) => !answers.get(r.answer)?.thrown);

  it.each(answeredSecretRows)('$answer: nothing of the server text is reachable from the error; the cause is a Status without messages', (row) => {
    const raw = answers.get(row.answer) as Recorded;
    const error = mapRecorded(row.answer);
    const text = reachableText(error);
    expect(leakedMarkers(text, SECRET_VALUES)).toEqual([]);
    // No sentence of the server's survives either (apart from names and paths).
    for (const sentence of [raw.body?.message, ...(raw.body?.details?.causes ?? []).map((c) => c.message)]) {
      if (sentence) expect(text).not.toContain(sentence);
    }
    expect(error.cause).toEqual(expect.objectContaining({ kind: 'Status', status: 'Failure', code: raw.status }));
    expect(JSON.stringify(error.cause)).not.toMatch(/"message"/);
  });

  it.each(secretRows.filter((r) => answers.get(r.answer)?.thrown))('$answer: no text of the thrown error is reachable; the cause keeps only its code', (row) => {
    const raw = answers.get(row.answer) as Recorded;
    const error = mapRecorded(row.answer);
    expect(reachableText(error)).not.toContain(raw.thrown?.message);
    expect(error.cause).toEqual(new Error('request failed (ETIMEDOUT)'));
  });

  it('the recorded Secret answers do quote the values, so the withholding is what keeps them out', () => {
    const quoted = secretRows.flatMap((row) => {
      const raw = answers.get(row.answer) as Recorded;
      return leakedMarkers(JSON.stringify(raw.body), SECRET_VALUES);
    });
    // The typed-patch errors quote numbers, lists and maps; the policy quotes the base64 form.
    expect(quoted).toEqual(expect.arrayContaining(['918273645012', 'MKLISTVALUE123', 'MKMAPVALUE1234', 'TUtQT0xJQ1lWQUxVRTE']));
    // Mapped as if it were not a Secret, the values come through: the old behaviour.
    const unmasked = toKubeError(new KubeHttpError(500, answers.get('secret-number')?.body ?? undefined, ''), {
      ...answers.get('secret-number')?.ctx,
      verb: 'patch',
      secret: false,
    });
    expect(unmasked.message).toContain('918273645012');
  });
});

describe('toKubeError for answers a healthy test server does not give', () => {
  const ctx: KubeRequestContext = { ref: { group: '', kind: 'ConfigMap', namespace: 'web', name: 'app' }, verb: 'patch', resource: 'configmaps' };
  const secretCtx: KubeRequestContext = { ref: { group: '', kind: 'Secret', namespace: 'web', name: 'db' }, verb: 'patch', resource: 'secrets', secret: true };

  it.each([408, 429, 500, 502, 503, 504])('HTTP %i is a retryable KUBE_UNAVAILABLE', (status) => {
    const error = toKubeError(new KubeHttpError(status, { kind: 'Status', code: status, message: 'try later' }, ''), ctx);
    expect(error.code).toBe('KUBE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`patch ConfigMap web/app: the API server answered ${status}: try later; will retry`);
  });

  it('a non-Status answer (a proxy page) keeps its text, except for a Secret', () => {
    const page = '<html>bad gateway: secret=hunter2</html>';
    expect(toKubeError(new KubeHttpError(502, undefined, page), ctx).message).toContain('bad gateway');
    const error = toKubeError(new KubeHttpError(502, undefined, page), secretCtx);
    expect(error.code).toBe('KUBE_UNAVAILABLE');
    expect(reachableText(error)).not.toContain('hunter2');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('for a Secret, reasons that are not CamelCase words and paths that are not one printable line are dropped', () => {
    const body: KubeStatus = {
      kind: 'Status',
      code: 400,
      reason: 'denied: value hunter2',
      message: 'admission webhook "check" denied the request: hunter2',
      details: { causes: [{ reason: 'FieldValueInvalid', field: '.data.x\nhunter2', message: 'hunter2' }, { reason: 'hunter2 leaked', field: '.data.y' }] },
    };
    const error = toKubeError(new KubeHttpError(400, body, ''), secretCtx);
    expect(reachableText(error)).not.toContain('hunter2');
    expect(error.data).not.toHaveProperty('reason');
    expect(error.cause).toEqual({ kind: 'Status', status: 'Failure', code: 400, details: { causes: [{ reason: 'FieldValueInvalid' }, { field: '.data.y' }] } });
  });

  it('a denial that merely mentions a size is not REQUEST_TOO_LARGE', () => {
    const body: KubeStatus = { kind: 'Status', code: 403, reason: 'Forbidden', message: 'admission webhook "x" denied the request: etcdserver: request is too large' };
    expect(toKubeError(new KubeHttpError(403, body, ''), ctx).code).toBe('KUBE_FORBIDDEN');
    const etcd: KubeStatus = { kind: 'Status', code: 500, message: 'etcdserver: request is too large' };
    expect(toKubeError(new KubeHttpError(500, etcd, ''), ctx).code).toBe('REQUEST_TOO_LARGE');
  });

  it('a 403 that is not an RBAC denial (an admission webhook) names the webhook reason, not RBAC', () => {
    const body: KubeStatus = { kind: 'Status', code: 403, reason: 'Forbidden', message: 'admission webhook "policy.example" denied the request: images must be signed' };
    const error = toKubeError(new KubeHttpError(403, body, ''), ctx);
    expect(error.code).toBe('KUBE_FORBIDDEN');
    expect(error.message).toBe('ConfigMap web/app: forbidden: admission webhook "policy.example" denied the request: images must be signed');
  });

  it('network failures are retryable KUBE_UNREACHABLE; for a Secret the cause keeps only the code', () => {
    const socketError = Object.assign(new Error('other side closed: hunter2'), { code: 'UND_ERR_SOCKET', socket: { pending: 'hunter2' } });
    const plain = toKubeError(socketError, ctx);
    expect(plain.code).toBe('KUBE_UNREACHABLE');
    expect(plain.retryable).toBe(true);
    expect(plain.cause).toBe(socketError);
    const secret = toKubeError(socketError, secretCtx);
    expect(secret.code).toBe('KUBE_UNREACHABLE');
    expect(secret.message).toBe('patch Secret web/db: the API server is unreachable: request failed (UND_ERR_SOCKET); will retry');
    expect(reachableText(secret)).not.toContain('hunter2');
  });

  it('other throws about a Secret (a JSON parse error quoting the body) keep no text', () => {
    let parseError: unknown;
    try {
      JSON.parse('{"data":{"password":aHVudGVyMg==}}');
    } catch (e) {
      parseError = e;
    }
    expect(String(parseError)).toContain('aHVudGVyMg');
    const error = toKubeError(parseError, { ...secretCtx, verb: 'get' });
    expect(error.code).toBe('KUBE_API_ERROR');
    expect(error.message).toBe(`get Secret web/db: the request failed (SyntaxError); ${WITHHELD}`);
    expect(reachableText(error)).not.toContain('aHVudGVyMg');
    expect(toKubeError(parseError, { ...ctx, verb: 'get' }).message).toContain('aHVudGVyMg');
  });

  it('aborts become AbortedError; typed errors pass through', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toKubeError(abort, ctx)).toBeInstanceOf(AbortedError);
    const typed = new KubeSinkError('KUBE_CONFLICT', 'x');
    expect(toKubeError(typed, ctx)).toBe(typed);
  });

  it("a RequestTooLargeError from the transport gets the object's name", () => {
    const fromTransport = new RequestTooLargeError('PATCH /api/v1/namespaces/web/configmaps/app: the request body is 4.0 MiB', {
      limitedBy: 'maxRequestBytes',
      requestBytes: 4 * 1024 * 1024,
      limitBytes: 3 * 1024 * 1024,
    });
    const error = toKubeError(fromTransport, ctx);
    expect(error).toBeInstanceOf(RequestTooLargeError);
    expect(error.message).toBe('patch ConfigMap web/app: the request body is 4.0 MiB');
    expect(error.data).toMatchObject({ ref: ctx.ref, verb: 'patch', limitedBy: 'maxRequestBytes', requestBytes: 4194304, limitBytes: 3145728, retryable: false });
  });
});
