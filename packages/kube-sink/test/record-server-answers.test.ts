/**
 * Records the API server's answers that `toKubeError` maps into `fixtures/server-answers.json`,
 * which `status-rules.test.ts` replays. Skipped unless asked for:
 *
 *   RECORD_SERVER_ANSWERS=1 npx vitest run --project kube-sink test/record-server-answers.test.ts
 *
 * Names are fixed (namespace `rec`) so the recorded messages are stable; the control plane is
 * the fresh one each test run starts.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { startTestEnv } from '@converge/kube-testenv';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { KubeObject, ObjectRef } from '@converge/core';
import { describe, expect, it } from 'vitest';
import { KubeHttpError, createTransport } from '../src/index.js';
import { blob, blobCrd } from './big-objects.js';
import type { RecordedAnswer as Recorded, RecordedThrow } from './recorded-answer.js';
import type { KubeRequest, KubeRequestContext, KubeTransport } from '../src/index.js';

const NS = 'rec';
const MiB = 1024 * 1024;

function recordThrow(e: unknown, depth = 0): RecordedThrow {
  const err = e as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
  return {
    name: String(err.name),
    ...(typeof err.code === 'string' && { code: err.code }),
    message: String(err.message),
    ...(err.cause !== undefined && depth < 3 && { cause: recordThrow(err.cause, depth + 1) }),
  };
}

/** A kubeconfig for the same user against another server URL. */
function atServer(kc: KubeConfig, server: string): KubeConfig {
  const out = new KubeConfig();
  out.loadFromOptions({ clusters: kc.clusters.map((c) => ({ ...c, server })), users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  return out;
}

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
};

const apply = (path: string, body: KubeObject, query: Record<string, string> = {}): KubeRequest => ({
  method: 'PATCH',
  path,
  query: { fieldManager: 'converge', fieldValidation: 'Strict', ...query },
  contentType: 'application/apply-patch+yaml',
  body,
});
const cmPath = (ns: string, n: string): string => `/api/v1/namespaces/${ns}/configmaps/${n}`;
const secPath = (ns: string, n: string): string => `/api/v1/namespaces/${ns}/secrets/${n}`;
const cm = (ns: string, name: string, data: Record<string, string>, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ...meta },
  data,
});
const sec = (ns: string, name: string, fields: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: ns },
  type: 'Opaque',
  ...fields,
});
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ref = (kind: string, name: string, ns = NS, group = ''): ObjectRef => ({ group, kind, namespace: ns, name });
const ctxOf = (r: ObjectRef, verb: string, resource: string, extra: Partial<KubeRequestContext> = {}): KubeRequestContext => ({
  ref: r,
  verb,
  resource,
  ...extra,
});

describe.runIf(process.env['RECORD_SERVER_ANSWERS'])('recording API server answers', () => {
  it('records one answer per mapped case', async () => {
    const env = await useTestEnv();
    const kc = env.kubeConfig;
    const t = createTransport(kc, { maxRequestBytes: 64 * MiB });
    const out: Recorded[] = [];
    const record = async (name: string, req: KubeRequest, ctx: KubeRequestContext, transport: KubeTransport = t): Promise<boolean> => {
      try {
        await transport.request(req);
        return false;
      } catch (e) {
        if (!(e instanceof KubeHttpError)) throw e;
        out.push({
          name,
          ctx,
          status: e.status,
          body: e.body ?? null,
          ...(!e.body && { text: e.message }),
          ...(e.requestBytes !== undefined && { requestBytes: e.requestBytes }),
          ...(e.retryAfterSeconds !== undefined && { retryAfterSeconds: e.retryAfterSeconds }),
        });
        return true;
      }
    };
    const recordFailure = async (name: string, req: KubeRequest, ctx: KubeRequestContext, transport: KubeTransport): Promise<void> => {
      const e = await transport.request(req).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (e === undefined || e instanceof KubeHttpError) throw new Error(`${name}: expected a failure without an answer`);
      out.push({ name, ctx, status: 0, body: null, thrown: recordThrow(e) });
    };

    await t.request(apply(`/api/v1/namespaces/${NS}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
    await t.request(apply(cmPath(NS, 'shared'), cm(NS, 'shared', { color: 'red' }), { fieldManager: 'team-b-deployer' }));
    await record('apply-conflict', apply(cmPath(NS, 'shared'), cm(NS, 'shared', { color: 'blue' })), ctxOf(ref('ConfigMap', 'shared'), 'patch', 'configmaps'));
    await t.request(apply(secPath(NS, 'shared'), sec(NS, 'shared', { data: { password: b64('MKTHEIRSVALUE1') } }), { fieldManager: 'team-b-deployer' }));
    await record(
      'secret-apply-conflict',
      apply(secPath(NS, 'shared'), sec(NS, 'shared', { data: { password: b64('MKOURSVALUE123') } })),
      ctxOf(ref('Secret', 'shared'), 'patch', 'secrets', { secret: true }),
    );
    const dep = (replicas: number): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: NS },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } },
      },
    });
    const depPath = `/apis/apps/v1/namespaces/${NS}/deployments/api`;
    await record('invalid-replicas', apply(depPath, dep(-1)), ctxOf(ref('Deployment', 'api', NS, 'apps'), 'patch', 'deployments'));
    await record('unknown-field', apply(cmPath(NS, 'typo'), { ...cm(NS, 'typo', {}), dataa: { a: '1' } }), ctxOf(ref('ConfigMap', 'typo'), 'patch', 'configmaps'));
    const secretCase = async (name: string, secretName: string, fields: Record<string, unknown>): Promise<void> => {
      await record(name, apply(secPath(NS, secretName), sec(NS, secretName, fields)), ctxOf(ref('Secret', secretName), 'patch', 'secrets', { secret: true }));
    };
    await secretCase('secret-number', 'num', { stringData: { pin: 918273645012 } });
    await secretCase('secret-list-and-map', 'lm', { data: { token: ['MKLISTVALUE123'] }, stringData: { creds: { user: 'MKMAPVALUE1234' } } });
    await secretCase('secret-invalid-base64', 'b64', { data: { key: 'MKBADB64VALUE!!not base64' } });
    await secretCase('secret-invalid-key', 'badkey', { data: { 'bad key!': b64('MKBADKEYVALUE1') } });
    await secretCase('secret-over-1MiB', 'huge', { data: { blob: b64(`MKHUGEVALUE123${'y'.repeat(1_100_000)}`) } });
    await record(
      'bad-request-managed-fields',
      apply(cmPath(NS, 'mf'), cm(NS, 'mf', {}, { managedFields: [{ manager: 'x', operation: 'Apply' }] })),
      ctxOf(ref('ConfigMap', 'mf'), 'patch', 'configmaps'),
    );

    // RBAC: a user who may only touch ConfigMaps in NS.
    const user = await env.createUser('team-bot');
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: NS, body: { metadata: { name: 'deployer' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: 'deployer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'team-bot' }],
      },
    });
    const ut = createTransport(user.kubeConfig);
    await record(
      'forbidden-namespaced-secret',
      apply(secPath(NS, 'db'), sec(NS, 'db', { stringData: { password: 'MKRBACVALUE123' } })),
      ctxOf(ref('Secret', 'db'), 'patch', 'secrets', { secret: true }),
      ut,
    );
    await record(
      'forbidden-cluster-scope',
      apply('/api/v1/namespaces/rec-extra', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rec-extra' } }),
      ctxOf({ group: '', kind: 'Namespace', name: 'rec-extra' }, 'patch', 'namespaces', { clusterScoped: true }),
      ut,
    );
    await record('forbidden-apps-group', apply(depPath, dep(1)), ctxOf(ref('Deployment', 'api', NS, 'apps'), 'patch', 'deployments'), ut);
    await ut.close();

    const bad = new KubeConfig();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('no cluster');
    bad.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'bad', token: 'not-a-token' }],
      contexts: [{ name: 'bad', cluster: cluster.name, user: 'bad' }],
      currentContext: 'bad',
    });
    const bt = createTransport(bad);
    await record('unauthorized', { method: 'GET', path: cmPath(NS, 'shared') }, ctxOf(ref('ConfigMap', 'shared'), 'get', 'configmaps'), bt);
    await bt.close();

    await record('not-found', { method: 'GET', path: cmPath(NS, 'missing') }, ctxOf(ref('ConfigMap', 'missing'), 'get', 'configmaps'));
    await record('secret-not-found', { method: 'GET', path: secPath(NS, 'missing') }, ctxOf(ref('Secret', 'missing'), 'get', 'secrets', { secret: true }));
    await record('namespace-not-found', apply(cmPath('nowhere', 'a'), cm('nowhere', 'a', {})), ctxOf(ref('ConfigMap', 'a', 'nowhere'), 'patch', 'configmaps'));
    await record(
      'delete-precondition',
      {
        method: 'DELETE',
        path: cmPath(NS, 'shared'),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: '00000000-0000-0000-0000-000000000000' } },
      },
      ctxOf(ref('ConfigMap', 'shared'), 'delete', 'configmaps'),
    );
    await record(
      'unsupported-media-type',
      { ...apply(cmPath(NS, 'x'), cm(NS, 'x', {})), contentType: 'text/plain' },
      ctxOf(ref('ConfigMap', 'x'), 'patch', 'configmaps'),
    );

    // An admission policy whose message quotes a Secret value.
    await t.request(
      apply('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/deny-pw', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'deny-pw' },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }] },
          validations: [
            {
              expression: "!has(object.data) || !('password' in object.data)",
              messageExpression: "'the password ' + string(object.data['password']) + ' is not allowed'",
              reason: 'Forbidden',
            },
          ],
        },
      }),
    );
    await t.request(
      apply('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/deny-pw', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: 'deny-pw' },
        spec: { policyName: 'deny-pw', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } } } },
      }),
    );
    let denied = false;
    for (let i = 0; i < 100 && !denied; i++) {
      denied = await record(
        'secret-policy-denial',
        apply(secPath(NS, 'vap'), sec(NS, 'vap', { data: { password: b64('MKPOLICYVALUE1') } }), { dryRun: 'All' }),
        ctxOf(ref('Secret', 'vap'), 'patch', 'secrets', { secret: true }),
      );
      if (!denied) await new Promise((r) => setTimeout(r, 300));
    }

    // A namespace held in Terminating by a finalizer.
    await t.request(apply('/api/v1/namespaces/term', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'term' } }));
    await t.request(apply(cmPath('term', 'held'), cm('term', 'held', {}, { finalizers: ['converge.dev/test-hold'] })));
    await t.request({ method: 'DELETE', path: '/api/v1/namespaces/term' });
    await record('namespace-terminating', apply(cmPath('term', 'new'), cm('term', 'new', {})), ctxOf(ref('ConfigMap', 'new', 'term'), 'patch', 'configmaps'));

    // Sizes: kube-apiserver's 3 MiB body limit, ConfigMap validation's 1 MiB, etcd's 1.5 MiB and its client's 2 MiB.
    await record('too-large-413', apply(cmPath(NS, 'big'), cm(NS, 'big', { blob: 'x'.repeat(4 * MiB) })), ctxOf(ref('ConfigMap', 'big'), 'patch', 'configmaps'));
    await record('configmap-over-1MiB', apply(cmPath(NS, 'two'), cm(NS, 'two', { blob: 'x'.repeat(2 * MiB) })), ctxOf(ref('ConfigMap', 'two'), 'patch', 'configmaps'));
    const group = 'test.converge.dev';
    await t.request(apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/blobs.${group}`, blobCrd(group)));
    for (let served = false, i = 0; !served && i < 100; i++) {
      served = await t.request({ method: 'GET', path: `/apis/${group}/v1/namespaces/${NS}/blobs` }).then(
        () => true,
        async () => (await new Promise((r) => setTimeout(r, 200)), false),
      );
    }
    await record('too-large-etcd', apply(`/apis/${group}/v1/namespaces/${NS}/blobs/one`, blob(group, NS, 'one', 1.7 * MiB)), ctxOf(ref('Blob', 'one', NS, group), 'patch', 'blobs'));
    await record('too-large-grpc', apply(`/apis/${group}/v1/namespaces/${NS}/blobs/two`, blob(group, NS, 'two', 2 * MiB)), ctxOf(ref('Blob', 'two', NS, group), 'patch', 'blobs'));

    // Create where the object exists: 409 AlreadyExists (hooks create with POST).
    await record('already-exists', { method: 'POST', path: `/api/v1/namespaces/${NS}/configmaps`, body: cm(NS, 'shared', {}) }, ctxOf(ref('ConfigMap', 'shared'), 'create', 'configmaps'));
    await record(
      'secret-already-exists',
      { method: 'POST', path: `/api/v1/namespaces/${NS}/secrets`, body: sec(NS, 'shared', { data: { token: b64('MKCREATEVALUE1') } }) },
      ctxOf(ref('Secret', 'shared'), 'create', 'secrets', { secret: true }),
    );

    // A webhook nobody serves, with failurePolicy Fail: the API server answers 500.
    await t.request(apply('/api/v1/namespaces/hooked', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hooked' } }));
    await t.request(
      apply('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/unreachable', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'unreachable' },
        webhooks: [
          {
            name: 'unreachable.converge.dev',
            clientConfig: { url: 'https://127.0.0.1:1/validate' },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'hooked' } },
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 2,
          },
        ],
      }),
    );
    for (let failed = false, i = 0; !failed && i < 100; i++) {
      failed = await record('webhook-unreachable', apply(cmPath('hooked', 'a'), cm('hooked', 'a', {})), ctxOf(ref('ConfigMap', 'a', 'hooked'), 'patch', 'configmaps'));
      if (!failed) await new Promise((r) => setTimeout(r, 300));
    }

    // API Priority and Fairness rejecting a user's requests over its share: 429 with Retry-After.
    await t.request(
      apply('/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations/converge-rec', {
        apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
        kind: 'PriorityLevelConfiguration',
        metadata: { name: 'converge-rec' },
        spec: { type: 'Limited', limited: { nominalConcurrencyShares: 1, lendablePercent: 0, limitResponse: { type: 'Reject' } } },
      }),
    );
    await t.request(
      apply('/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/converge-rec', {
        apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
        kind: 'FlowSchema',
        metadata: { name: 'converge-rec' },
        spec: {
          priorityLevelConfiguration: { name: 'converge-rec' },
          matchingPrecedence: 100,
          rules: [
            {
              subjects: [{ kind: 'User', user: { name: 'throttled-bot' } }],
              resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
            },
          ],
        },
      }),
    );
    const throttled = createTransport((await env.createUser('throttled-bot')).kubeConfig);
    for (let got = false, round = 0; !got && round < 50; round++) {
      const results = await Promise.allSettled(Array.from({ length: 64 }, () => throttled.request({ method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps` })));
      const rejected = results.find((r) => r.status === 'rejected' && r.reason instanceof KubeHttpError && r.reason.status === 429);
      if (rejected?.status === 'rejected') {
        const e = rejected.reason as KubeHttpError;
        got = true;
        out.push({ name: 'throttled', ctx: { verb: 'list', resource: 'configmaps' }, status: e.status, body: e.body ?? null, text: e.message, ...(e.retryAfterSeconds !== undefined && { retryAfterSeconds: e.retryAfterSeconds }) });
      }
    }
    await throttled.close();
    await t.close();

    // No answer: a closed port, and a server that accepts and never answers (the transport's deadline).
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = createTransport(atServer(kc, `https://127.0.0.1:${closedPort}`));
    await recordFailure('connection-refused', { method: 'GET', path: cmPath(NS, 'shared') }, ctxOf(ref('ConfigMap', 'shared'), 'get', 'configmaps'), refused);
    await refused.close();
    const held = new Set<Socket>();
    const silent = createServer((socket) => void held.add(socket));
    const silentPort = await listen(silent);
    const waiting = createTransport(atServer(kc, `https://127.0.0.1:${silentPort}`), { timeoutMs: 300 });
    await recordFailure('timeout', { method: 'GET', path: cmPath(NS, 'shared') }, ctxOf(ref('ConfigMap', 'shared'), 'get', 'configmaps'), waiting);
    await recordFailure(
      'secret-timeout',
      apply(secPath(NS, 'shared'), sec(NS, 'shared', { data: { password: b64('MKTIMEOUTVALUE') } })),
      ctxOf(ref('Secret', 'shared'), 'patch', 'secrets', { secret: true }),
      waiting,
    );
    await waiting.close();
    for (const socket of held) socket.destroy();
    await new Promise<void>((r) => silent.close(() => r()));

    // 410 Gone: a list continued after etcd compacted its revision (a control plane that compacts every second).
    const compacting = await startTestEnv({ apiServerFlags: { 'etcd-compaction-interval': '1s' } });
    try {
      const ct = createTransport(compacting.kubeConfig);
      await ct.request(apply(`/api/v1/namespaces/${NS}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
      for (const n of ['one', 'two']) await ct.request(apply(cmPath(NS, n), cm(NS, n, {})));
      const page = await ct.request<{ metadata: { continue?: string } }>({ method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps`, query: { limit: 1 } });
      for (let gone = false, i = 0; !gone && i < 60; i++) {
        await ct.request(apply(cmPath(NS, 'one'), cm(NS, 'one', { i: String(i) })));
        await new Promise((r) => setTimeout(r, 500));
        gone = await record(
          'expired-continue',
          { method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps`, query: { limit: 1, continue: page.metadata.continue } },
          { verb: 'list', resource: 'configmaps' },
          ct,
        );
      }
      await ct.close();
    } finally {
      await compacting.stop();
    }

    expect(out.map((r) => r.name)).toHaveLength(33);
    await writeFile(new URL('./fixtures/server-answers.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  });
});
