// The pull agent end to end: a real git smart-HTTP server holds the spec folder and the
// manifests, a real etcd + kube-apiserver receives them, and a local HTTP receiver takes the
// notifications. One agent runs through the whole file; the tests are its story, in order.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoreV1Api } from '@kubernetes/client-node';
import { formatRef, refKey, type ObjectRef } from '@converge/core';
import type { FleetEvent } from '@converge/fleet';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../src/agent.ts';
import { loadAgentConfig } from '../src/config.ts';
import { jsonLogger } from '../src/logger.ts';
import { until } from './support/until.ts';

const id = randomUUID().slice(0, 6);
const fleetName = `pa-${id}`;
const webNs = `web-${id}`;
const cacheNs = `cache-${id}`;
const web = `${fleetName}-web`;
const password = `hunter2-${id}`;
const WEBHOOK_SECRET = 'webhook-secret';
const NOTIFY_SECRET = 'notify-secret';
const CONTROL_TOKEN = 'control-token';
const control = { authorization: `Bearer ${CONTROL_TOKEN}` };

const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);

let git: GitServer;
let sink: KubeSink;
let agent: Agent;
let receiver: { server: Server; url: string; received: { body: Record<string, any>; signed: boolean }[] };
const events: FleetEvent[] = [];
const logLines: string[] = [];

function webFiles(greeting: string): Record<string, string> {
  return {
    'web/config.yaml': `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { greeting: ${greeting} }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Secret
metadata: { name: web-db }
stringData: { password: ${password} }
`,
  };
}

const initialFiles = {
  'apps/web.yaml': `source: { path: web }\nnamespace: ${webNs}\n`,
  'apps/cache.yaml': `source: { path: cache }\nnamespace: ${cacheNs}\n`,
  ...webFiles('hello'),
  'cache/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cache-config }\ndata: { size: "64Mi" }\n`,
};

/** Resolves with the first fleet event (an app's or the fleet's own) that matches, after `action`. */
async function after<T extends FleetEvent>(action: () => unknown, match: (e: FleetEvent) => e is T, timeoutMs?: number): Promise<T>;
async function after(action: () => unknown, match: (e: FleetEvent) => boolean, timeoutMs?: number): Promise<FleetEvent>;
async function after(action: () => unknown, match: (e: FleetEvent) => boolean, timeoutMs = 60_000): Promise<FleetEvent> {
  let off = () => {};
  const seen = new Promise<FleetEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
    off = agent.fleet.on('*', (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      resolve(e);
    });
  });
  try {
    await action();
    return await seen;
  } finally {
    off();
  }
}

const settledOf = (reconciler: string) => (e: FleetEvent) => (e.type === 'pass.succeeded' || e.type === 'pass.failed') && e.reconciler === reconciler;

/** The revision gitSource reports for the tip of main. */
async function head(): Promise<string> {
  return `main@sha1:${await git.revParse('env', 'main')}`;
}

function sign(body: string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function webhook(secret = WEBHOOK_SECRET): Promise<Response> {
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  return fetch(`${agent.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body, secret) }, body });
}

async function greeting(): Promise<string | undefined> {
  return (await core.readNamespacedConfigMap({ name: 'web-config', namespace: webNs })).data?.['greeting'];
}

async function metric(name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function startReceiver(): Promise<typeof receiver> {
  const received: (typeof receiver)['received'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', NOTIFY_SECRET).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-converge-signature'] ?? ''));
      received.push({ body: JSON.parse(raw.toString('utf8')), signed: given.length === expected.length && timingSafeEqual(given, expected) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/converge`, received };
}

beforeAll(async () => {
  git = await startGitServer();
  await git.createRepo('env'); // empty for now: the first sync cannot happen yet
  receiver = await startReceiver();
  sink = kubeSink({ kubeConfig: env.kubeConfig, watch: { debounceMs: 100 } });

  const dir = await mkdtemp(join(tmpdir(), 'pull-agent-test-'));
  const configPath = join(dir, 'agent.yaml');
  await writeFile(
    configPath,
    `name: ${fleetName}
apps: { url: ${git.repoUrl('env')}, ref: { branch: main }, path: apps }
intervalMs: 3600000        # an hour: within a test, only the webhook, drift or resume explain a pass
listen: 127.0.0.1:0
webhook: { secretEnv: TEST_WEBHOOK_SECRET }
control: { tokenEnv: TEST_CONTROL_TOKEN }
notify: { url: ${receiver.url}, secretEnv: TEST_NOTIFY_SECRET }
`,
  );
  const config = await loadAgentConfig(configPath, { TEST_WEBHOOK_SECRET: WEBHOOK_SECRET, TEST_NOTIFY_SECRET: NOTIFY_SECRET, TEST_CONTROL_TOKEN: CONTROL_TOKEN });
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  agent = await startAgent(config, { sink, log: jsonLogger(logStream) });
  agent.fleet.on('*', (e) => events.push(e));
});

afterAll(async () => {
  if (process.env['PA_DEBUG']) await writeFile(process.env['PA_DEBUG'], events.map((e) => JSON.stringify({ ...e, ...('error' in e && { error: { code: e.error.code, message: e.error.message } }) })).join('\n'));
  await agent?.stop();
  await sink?.close();
  await git?.close();
  await new Promise((resolve) => receiver?.server.close(resolve));
});

describe('pull agent on a real git server and control plane', () => {
  it('answers /healthz at once and /readyz 503 until the first sync has applied every app, then 200', async () => {
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    const before = await fetch(`${agent.url}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ ready: false });

    await git.commitFiles('env', initialFiles, 'two apps');
    expect((await webhook()).status).toBe(202);
    await until(async () => (await fetch(`${agent.url}/readyz`)).status === 200, '/readyz 200');

    const ready = (await (await fetch(`${agent.url}/readyz`)).json()) as { revision: string; waitingFor: string[] };
    expect(ready.revision).toBe(await head());
    expect(ready.waitingFor).toEqual([]);
  });

  it('deploys every app of the spec folder, each with its own inventory', async () => {
    expect(await greeting()).toBe('hello');
    expect((await core.readNamespacedService({ name: 'web', namespace: webNs })).spec?.ports?.[0]?.port).toBe(80);
    expect((await core.readNamespacedConfigMap({ name: 'cache-config', namespace: cacheNs })).data).toEqual({ size: '64Mi' });

    const inventory = (await sink.readInventory(web))!.map(formatRef).sort();
    expect(inventory).toEqual([`ConfigMap ${webNs}/web-config`, `Namespace ${webNs}`, `Secret ${webNs}/web-db`, `Service ${webNs}/web`].sort());
    expect((await sink.readInventory(`${fleetName}-cache`))!.map(formatRef).sort()).toEqual([`ConfigMap ${cacheNs}/cache-config`, `Namespace ${cacheNs}`]);

    expect((await fetch(`${agent.url}/status`)).status).toBe(401);
    const status = (await (await fetch(`${agent.url}/status`, { headers: control })).json()) as { apps: Record<string, { managedObjects: number; lastAppliedRevision: string }> };
    expect(status.apps['web']).toMatchObject({ managedObjects: 4, lastAppliedRevision: await head() });
  });

  it('exposes Prometheus metrics with per-app pass counts, durations and managed objects', async () => {
    const res = await fetch(`${agent.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metric('converge_reconcile_total', `reconciler="${web}",result="succeeded"`)).toBe(1);
    expect(await metric('converge_reconcile_duration_seconds_count', `reconciler="${web}"`)).toBe(1);
    expect(await metric('converge_managed_objects', `reconciler="${web}"`)).toBe(4);
    expect(await metric('converge_managed_objects', `reconciler="${fleetName}-cache"`)).toBe(2);
    expect(await metric('converge_suspended', `reconciler="${web}"`)).toBe(0);
  });

  it('runs a pass at once on a signed POST /webhook, picking up the new commit; a bad signature gets 401', async () => {
    await git.commitFiles('env', webFiles('hello-again'), 'new greeting');
    const passesBefore = events.filter((e) => e.type === 'pass.started').length;

    const bad = await webhook('not-the-secret');
    expect(bad.status).toBe(401);
    const unsigned = await fetch(`${agent.url}/webhook`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    expect(events.filter((e) => e.type === 'pass.started').length).toBe(passesBefore);

    const settled = await after(() => webhook().then((r) => expect(r.status).toBe(202)), settledOf(web));
    expect(settled).toMatchObject({ type: 'pass.succeeded', revision: await head(), counts: { updated: 1 } });
    expect(await greeting()).toBe('hello-again');
    expect(agent.fleet.status().apps['web']!.history.at(-1)).toMatchObject({ reason: 'webhook', result: 'succeeded' });
  });

  it('puts back a hand edit at once, counts it in metrics and sends a drift-corrected notification', async () => {
    const settled = await after(
      async () => {
        const cm = await core.readNamespacedConfigMap({ name: 'web-config', namespace: webNs });
        await core.replaceNamespacedConfigMap({ name: 'web-config', namespace: webNs, body: { ...cm, data: { greeting: 'edited by hand' } } });
      },
      settledOf(web),
    );
    expect(settled).toMatchObject({ type: 'pass.succeeded', driftCorrected: 1 });
    expect(await greeting()).toBe('hello-again');
    expect(await metric('converge_drift_corrections_total', `reconciler="${web}"`)).toBe(1);
    await until(async () => receiver.received.some((r) => r.body['type'] === 'drift-corrected' && r.body['reconciler'] === web), "the 'drift-corrected' notification");
    expect(receiver.received.find((r) => r.body['type'] === 'drift-corrected')!.body).toMatchObject({
      count: 1,
      objects: [{ kind: 'ConfigMap', namespace: webNs, name: 'web-config' }],
    });
  });

  it('stops reverting drift and applying commits while an app is suspended; resume catches up', async () => {
    const unauthorized = await fetch(`${agent.url}/apps/web/suspend`, { method: 'POST' });
    expect(unauthorized.status).toBe(401);
    expect(agent.fleet.status().apps['web']).toMatchObject({ suspended: false });
    const suspended = await fetch(`${agent.url}/apps/web/suspend`, { method: 'POST', headers: control });
    expect(await suspended.json()).toEqual({ app: 'web', suspended: true });
    expect(await metric('converge_suspended', `reconciler="${web}"`)).toBe(1);

    // Someone edits the live object; the watch sees it, but the suspended app does not act.
    await after(
      async () => {
        const cm = await core.readNamespacedConfigMap({ name: 'web-config', namespace: webNs });
        await core.replaceNamespacedConfigMap({ name: 'web-config', namespace: webNs, body: { ...cm, data: { greeting: 'edited by hand' } } });
      },
      (e) => e.type === 'drift.detected' && e.reconciler === web,
    );
    // A new commit changes the manifests and the app's spec file (the fleet then rebuilds the
    // app's reconciler): the app stays suspended through both.
    await after(
      async () => {
        await git.commitFiles('env', { ...webFiles('v3'), 'apps/web.yaml': `source: { path: web }\nnamespace: ${webNs}\nvars: { TIER: gold }\n` }, 'v3');
        expect((await webhook()).status).toBe(202);
      },
      (e) => e.type === 'app.updated' && e.app === 'web',
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(await greeting()).toBe('edited by hand');
    expect(agent.fleet.status().apps['web']).toMatchObject({ suspended: true, phase: 'suspended', spec: { vars: { TIER: 'gold' } } });

    const settled = await after(() => fetch(`${agent.url}/apps/web/resume`, { method: 'POST', headers: control }), settledOf(web));
    expect(settled).toMatchObject({ type: 'pass.succeeded', revision: await head() });
    expect(await greeting()).toBe('v3');
    expect(await metric('converge_suspended', `reconciler="${web}"`)).toBe(0);
  });

  it('reports a failed pass and the recovery to the notification webhook, signed', async () => {
    const failedAt = await after(
      async () => {
        await git.commitFiles('env', { 'web/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: broken\n' }, 'broken manifest');
        await webhook();
      },
      (e) => e.type === 'pass.failed' && e.reconciler === web,
    );
    expect(failedAt).toMatchObject({ error: { code: 'YAML_SYNTAX' } });
    await until(async () => receiver.received.some((r) => r.body['type'] === 'failed' && r.body['reconciler'] === web), "the 'failed' notification");

    await after(
      async () => {
        await git.deleteFiles('env', ['web/broken.yaml'], 'fix');
        await webhook();
      },
      (e) => e.type === 'pass.succeeded' && e.reconciler === web,
    );
    await until(async () => receiver.received.some((r) => r.body['type'] === 'recovered' && r.body['reconciler'] === web), "the 'recovered' notification");

    const mine = receiver.received.filter((r) => r.body['reconciler'] === web && r.body['type'] !== 'drift-corrected');
    expect(mine.map((r) => r.body['type'])).toEqual(['failed', 'recovered']);
    expect(mine.every((r) => r.signed)).toBe(true);
    expect(mine[0]!.body).toMatchObject({ error: { code: 'YAML_SYNTAX', message: expect.stringContaining('broken.yaml:4') }, failures: 1 });
    expect(mine[1]!.body).toMatchObject({ revision: await head(), failures: expect.any(Number) });
    expect(await metric('converge_reconcile_total', `reconciler="${web}",result="failed"`)).toBeGreaterThanOrEqual(1);
  });

  it('writes structured logs: every line one JSON object, no Secret value anywhere', () => {
    expect(logLines.length).toBeGreaterThan(5);
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) expect(entry).toMatchObject({ time: expect.any(String), level: expect.stringMatching(/^(info|warn|error)$/), msg: expect.any(String) });
    expect(entries).toContainEqual(expect.objectContaining({ level: 'info', msg: 'created', reconciler: web, object: `Secret ${webNs}/web-db` }));
    expect(entries).toContainEqual(expect.objectContaining({ level: 'error', msg: 'pass failed', reconciler: web, code: 'YAML_SYNTAX' }));
    expect(entries).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'drift detected', reconciler: web }));
    const all = logLines.join('\n');
    expect(all).not.toContain(password);
    expect(all).not.toContain(Buffer.from(password).toString('base64'));
  });

  it('on stop() during a pass, finishes the pass and leaves an inventory equal to what was applied', async () => {
    const many = Array.from({ length: 30 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra-${i} }\ndata: { i: "${i}" }\n`).join('---\n');
    await git.commitFiles('env', { 'web/many.yaml': many }, '30 more objects');

    let stopped: Promise<void> | undefined;
    const firstApplied = await after(
      () => webhook(),
      (e) => e.type === 'object.applied' && e.reconciler === web,
    );
    expect(firstApplied.type).toBe('object.applied');
    const succeeded = after(() => undefined, (e) => e.type === 'pass.succeeded' && e.reconciler === web);
    stopped = agent.stop();
    expect(agent.fleet.status().apps['web']!.phase).toBe('reconciling');
    await stopped;

    // The pass in flight ran to its end before stop() resolved.
    expect(await Promise.race([succeeded, Promise.resolve('not finished')])).toMatchObject({ counts: { created: 30 } });
    const inventory = new Set((await sink.readInventory(web))!.map(refKey));
    expect(inventory.size).toBe(34);
    const live = await core.listNamespacedConfigMap({ namespace: webNs });
    const extras = live.items.filter((cm) => cm.metadata?.name?.startsWith('extra-'));
    expect(extras).toHaveLength(30);
    for (const cm of extras) expect(inventory.has(refKey({ group: '', kind: 'ConfigMap', namespace: webNs, name: cm.metadata!.name! } satisfies ObjectRef))).toBe(true);

    await expect(fetch(`${agent.url}/healthz`)).rejects.toThrow();
    expect(agent.fleet.status().apps['web']!.phase).toBe('stopped');
    expect(JSON.parse(logLines.at(-1)!)).toMatchObject({ msg: 'agent stopped' });
  });
});
