import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPolicy, readAuditLog } from '../src/audit-log.js';
import { startTestEnv, type TestEnv } from '../src/test-env.js';

describe('startTestEnv({ audit })', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await startTestEnv({ audit: { policy: auditPolicy({ reads: false, requestBodies: [{ group: '', resources: ['configmaps'] }] }) } });
  });
  afterAll(() => env?.stop());

  it('records who wrote which object, with the request body at the level the policy asks, and survives an API server restart', async () => {
    const bot = await env.createUser('audit-bot', ['system:masters']);
    const asBot = bot.kubeConfig.makeApiClient(CoreV1Api);
    await asBot.createNamespace({ body: { metadata: { name: 'audited' } } });
    await asBot.createNamespacedConfigMap({ namespace: 'audited', body: { metadata: { name: 'one' }, data: { k: 'v' } } });
    await asBot.readNamespacedConfigMap({ namespace: 'audited', name: 'one' });
    await env.stopApiServer();
    await env.startApiServer();
    await env.kubeConfig.makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ namespace: 'audited', name: 'one' });

    expect(env.auditLogPath).toBe(env.connection.auditLogPath);
    const events = (await readAuditLog(env.auditLogPath!)).filter((e) => e.objectRef?.namespace === 'audited' || e.objectRef?.name === 'audited');
    expect(events.map((e) => [e.user.username, e.verb, e.objectRef?.resource, e.objectRef?.name ?? '', e.level, e.responseStatus?.code])).toEqual([
      ['audit-bot', 'create', 'namespaces', 'audited', 'Metadata', 201],
      ['audit-bot', 'create', 'configmaps', 'one', 'Request', 201],
      ['admin', 'delete', 'configmaps', 'one', 'Request', 200],
    ]);
    expect(events[1]?.requestObject).toMatchObject({ metadata: { name: 'one' }, data: { k: 'v' } });
    expect(events.every((e) => e.stage === 'ResponseComplete' && Date.parse(e.stageTimestamp) >= Date.parse(e.requestReceivedTimestamp))).toBe(true);
  });

  it('is off unless asked: no audit log path', async () => {
    const plain = await startTestEnv();
    try {
      expect(plain.auditLogPath).toBeUndefined();
      expect(plain.connection.auditLogPath).toBeUndefined();
    } finally {
      await plain.stop();
    }
  });
});
