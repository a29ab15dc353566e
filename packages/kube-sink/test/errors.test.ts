import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { TestEnvClient } from '@converge/kube-testenv';
import { createReconciler } from '@converge/core';
import type { ApplyResult, ConvergeError } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApplyConflictError, KubeForbiddenError, KubeInvalidError } from '../src/index.js';
import { configMap, deployment, desiredState, namespace, recordingSink, uniqueName } from './helpers.js';

let env: TestEnvClient;
let kc: KubeConfig;

beforeAll(async () => {
  env = await useTestEnv();
  kc = env.kubeConfig;
});

function failure(r: ApplyResult | undefined): ConvergeError {
  if (!r || r.ok) throw new Error(`expected a failed result, got ${JSON.stringify(r)}`);
  return r.error;
}

describe('errors from the API server', () => {
  it('a field owned by another field manager is a 409 conflict naming the manager and the field; force takes it over', async () => {
    const ns = uniqueName('conf');
    const { sink: other } = recordingSink(kc, { fieldManager: 'team-b-deployer' });
    await other.apply([namespace(ns), configMap(ns, 'shared', { color: 'red', size: 'L' })]);
    await other.close();

    const { sink } = recordingSink(kc);
    const error = failure((await sink.apply([configMap(ns, 'shared', { color: 'blue' })]))[0]);
    expect(error).toBeInstanceOf(ApplyConflictError);
    expect(error.code).toBe('APPLY_CONFLICT');
    expect(error.data).toMatchObject({ managers: ['team-b-deployer'], fields: ['.data.color'], status: 409, ref: { kind: 'ConfigMap', name: 'shared', namespace: ns } });
    expect(error.message).toContain('"team-b-deployer"');
    expect(error.message).toContain('.data.color');
    expect(error.retryable).toBe(false);

    const { sink: forced } = recordingSink(kc, { force: true });
    const [ok] = await forced.apply([configMap(ns, 'shared', { color: 'blue' })]);
    expect(ok?.ok && ok.object['data']).toEqual({ color: 'blue', size: 'L' });
    await sink.close();
    await forced.close();
  });

  it('an invalid object is a 422 naming the field', async () => {
    const ns = uniqueName('inv');
    const { sink } = recordingSink(kc);
    const bad = deployment(ns, 'api');
    (bad['spec'] as { replicas: number }).replicas = -1;
    const [, r] = await sink.apply([namespace(ns), bad]);
    const error = failure(r);
    expect(error).toBeInstanceOf(KubeInvalidError);
    expect(error.data).toMatchObject({ status: 422, fields: ['spec.replicas'] });
    expect(error.message).toMatch(/Deployment.*api is invalid: spec\.replicas: .*greater than or equal to 0/);
    await sink.close();
  });

  it('an unknown field is rejected (strict field validation), naming the field', async () => {
    const ns = uniqueName('strict');
    const { sink } = recordingSink(kc);
    const typo = { ...configMap(ns, 'typo', {}), dataa: { a: '1' } };
    const [, r] = await sink.apply([namespace(ns), typo]);
    const error = failure(r);
    expect(error.code).toBe('KUBE_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.data['fields']).toEqual(['.dataa']);
    expect(error.message).toContain('.dataa: field not declared in schema');
    await sink.close();
  });

  it('a namespace-scoped identity reconciles its namespace and gets a clear 403 for a cluster-scoped object', async () => {
    const ns = uniqueName('team');
    const { sink: admin } = recordingSink(kc);
    await admin.apply([namespace(ns)]);
    await admin.close();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'deployer' }, rules: [{ apiGroups: ['', 'apps'], resources: ['configmaps', 'deployments'], verbs: ['*'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'deployer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'team-bot' }],
      },
    });
    const user = await env.createUser('team-bot');
    const { sink } = recordingSink(user.kubeConfig, { inventory: { namespace: ns } });

    const results = await sink.apply([namespace(`${ns}-extra`), configMap(ns, 'app', { a: '1' }), deployment(ns, 'api')]);
    const error = failure(results[0]);
    expect(error).toBeInstanceOf(KubeForbiddenError);
    expect(error.data).toMatchObject({ status: 403, verb: 'patch', resource: 'namespaces', user: 'team-bot' });
    expect(error.message).toContain('may not patch namespaces at cluster scope');
    expect(results[1]?.ok).toBe(true);
    expect(results[2]?.ok).toBe(true);

    // Through a reconciler: its own namespace works, the cluster-scoped object is reported.
    const state = desiredState([configMap(ns, 'app', { a: '2' }), namespace(`${ns}-other`)]);
    const r = createReconciler({ name: 'team', source: state.source, render: state.render, sink });
    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('may not patch namespaces');
    expect((await sink.get([{ group: '', kind: 'ConfigMap', namespace: ns, name: 'app' }]))[0]?.['data']).toEqual({ a: '2' });
    await sink.close();
  });
});
