import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnvClient } from '../src/connection.js';
import { testEnvConnection, useTestEnv } from '../src/vitest.js';

describe('the control plane shared through the vitest global setup', () => {
  let env: TestEnvClient;
  beforeAll(async () => {
    env = await useTestEnv();
  });

  it('is provided to test files as plain connection data', () => {
    const connection = testEnvConnection();
    expect(connection.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(connection.startupMs).toBeGreaterThan(0);
  });

  it('connects once per worker', async () => {
    expect(await useTestEnv()).toBe(env);
  });

  it('grants a user exactly what a RoleBinding allows', async () => {
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    const rbac = env.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
    await rbac.createNamespacedRole({
      namespace: 'team-a',
      body: { metadata: { name: 'cm' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'team-a',
      body: {
        metadata: { name: 'cm' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm' },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'deployers' }],
      },
    });
    const user = await env.createUser('carol', ['deployers']);
    const asCarol = user.kubeConfig.makeApiClient(CoreV1Api);
    await asCarol.createNamespacedConfigMap({ namespace: 'team-a', body: { metadata: { name: 'x' } } });
    await expect(asCarol.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } })).rejects.toMatchObject({ code: 403 });
    await expect(asCarol.listNamespacedSecret({ namespace: 'team-a' })).rejects.toMatchObject({ code: 403 });
  });
});
