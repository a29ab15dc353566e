// The pull agent deployed the way a cluster runs it: Converge renders the agent's own Helm chart
// (deploy/) with the wasm engine and applies it with kube-sink to a real kube-apiserver; then two
// agent processes run in-cluster — KUBERNETES_SERVICE_HOST/PORT and a service account token
// issued by the TokenRequest API, mounted in the layout a pod gets — with only the rights the
// chart's RBAC grants. No kubelet runs, so the Deployment's pods never start: the test plays them.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthorizationV1Api, CoordinationV1Api, CoreV1Api, type V1ResourceAttributes } from '@kubernetes/client-node';
import { createReconciler, directorySource, refOf, type KubeObject } from '@converge/core';
import { helmChart } from '@converge/helm-render';
import { kubeSink } from '@converge/kube-sink';
import { testEnvConnection, useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadAgentConfig } from '../src/config.ts';
import { SERVICE_ACCOUNT_DIR } from '../src/kube-config.ts';
import { startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { until } from './support/until.ts';

const example = join(dirname(fileURLToPath(import.meta.url)), '..');
const id = randomUUID().slice(0, 6);
const agentNs = `agents-${id}`;
const appNs = `apps-${id}`;
const otherNs = `other-${id}`;
const release = 'converge';
const sa = `${release}-converge-agent`;

const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);
const leases = env.kubeConfig.makeApiClient(CoordinationV1Api);
const authz = env.kubeConfig.makeApiClient(AuthorizationV1Api);
const admin = kubeSink({ kubeConfig: env.kubeConfig, fieldManager: `helm-${id}`, inventory: { namespace: agentNs } });

/** Renders the chart as Converge does for any Helm app. */
const chart = (values: Record<string, unknown>) => helmChart({ chart: 'deploy', releaseName: release, namespace: agentNs, values, engine: 'wasm' });
const namespaceScoped = { rbac: { scope: 'namespace', namespaces: [appNs] }, agent: { name: `pa-${id}` } };
let rendered: KubeObject[];
let work: string;

beforeAll(async () => {
  for (const name of [agentNs, appNs, otherNs]) await core.createNamespace({ body: { metadata: { name } } });
  work = await mkdtemp(join(tmpdir(), 'converge-in-cluster-'));
  const result = await createReconciler({ name: `chart-${id}`, source: directorySource(example), render: chart(namespaceScoped), sink: admin, prune: true }).reconcile();
  expect(result.status === 'failed' ? result.error.message : result.status).toBe('succeeded');
  rendered = await chart(namespaceScoped)({ artifact: await directorySource(example).fetch() });
}, 180_000);

afterAll(async () => {
  await admin.close();
  for (const name of [agentNs, appNs, otherNs]) await core.deleteNamespace({ name }).catch(() => {});
});

const find = (kind: string, namespace: string | undefined, name: string) => rendered.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);

const agentYaml = (): string => (find('ConfigMap', agentNs, sa)?.['data'] as Record<string, string>)['agent.yaml']!;

/** Asks the API server whether the chart's service account may do something. */
async function allowed(attributes: V1ResourceAttributes): Promise<boolean> {
  const review = await authz.createSubjectAccessReview({
    body: { spec: { user: `system:serviceaccount:${agentNs}:${sa}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${agentNs}`, 'system:authenticated'], resourceAttributes: attributes } },
  });
  return review.status?.allowed === true;
}

describe('the Helm chart in deploy/, rendered and applied by Converge', () => {
  it('creates a two-replica Deployment running as non-root under its own service account, a Service and the agent configuration', async () => {
    const deployment = find('Deployment', agentNs, sa) as KubeObject & { spec: any };
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe(sa);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.containers[0].env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(find('Service', agentNs, sa)).toMatchObject({ spec: { ports: [{ name: 'http', port: 9090, targetPort: 'http' }] } });
    const config = parse(agentYaml());
    expect(config).toMatchObject({ namespace: agentNs, listen: '0.0.0.0:9090', replicas: { mode: 'leader' } });
    // Applied: the server holds every object the chart rendered.
    expect((await core.readNamespacedServiceAccount({ name: sa, namespace: agentNs })).metadata?.name).toBe(sa);
    expect((await admin.get(rendered.map(refOf))).length).toBe(rendered.length);
  });

  it('with agent.forge, the configuration reports commit statuses with the token from the Secret, and the agent accepts it', async () => {
    const withForge = await chart({ ...namespaceScoped, secretName: 'agent-secrets', agent: { ...namespaceScoped.agent, forge: { kind: 'gitea', url: 'https://gitea.example.com', repository: 'platform/environments' } } })({ artifact: await directorySource(example).fetch() });
    const of = (kind: string) => withForge.find((o) => o.kind === kind && o.metadata.name === sa) as KubeObject & { spec: any; data: Record<string, string> };
    const text = of('ConfigMap').data['agent.yaml']!;
    expect(parse(text)).toMatchObject({ forge: { kind: 'gitea', url: 'https://gitea.example.com', repository: 'platform/environments', tokenEnv: 'CONVERGE_FORGE_TOKEN' } });
    expect(of('Deployment').spec.template.spec.containers[0].env).toContainEqual({ name: 'CONVERGE_FORGE_TOKEN', valueFrom: { secretKeyRef: { name: 'agent-secrets', key: 'forge-token' } } });
    await writeFile(join(work, 'forge.yaml'), text);
    const config = await loadAgentConfig(join(work, 'forge.yaml'), { CONVERGE_WEBHOOK_SECRET: 'w', CONVERGE_FORGE_TOKEN: 'forge-token-value' });
    expect(config.forge).toEqual({ kind: 'gitea', url: 'https://gitea.example.com', repository: 'platform/environments', token: 'forge-token-value' });
    // Without it, no forge section and no token variable.
    expect(parse(agentYaml())).not.toHaveProperty('forge');
    await expect(chart({ ...namespaceScoped, agent: { ...namespaceScoped.agent, forge: { kind: 'gitea', url: 'https://gitea.example.com', repository: 'a/b' } } })({ artifact: await directorySource(example).fetch() })).rejects.toThrow(/agent\.forge needs secretName/);
  });

  it('namespace scope: grants the agent its Leases and inventories at home, apply rights in its app namespaces, and nothing cluster-wide', async () => {
    expect(rendered.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    for (const verb of ['get', 'create', 'update']) expect(await allowed({ namespace: agentNs, group: 'coordination.k8s.io', resource: 'leases', verb })).toBe(true);
    for (const verb of ['get', 'create', 'update']) expect(await allowed({ namespace: agentNs, resource: 'configmaps', verb })).toBe(true);
    for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) expect(await allowed({ namespace: appNs, group: 'apps', resource: 'deployments', verb })).toBe(true);
    expect(await allowed({ namespace: otherNs, resource: 'configmaps', verb: 'patch' })).toBe(false);
    expect(await allowed({ namespace: agentNs, resource: 'secrets', verb: 'get' })).toBe(false);
    expect(await allowed({ resource: 'namespaces', verb: 'create' })).toBe(false);
    expect(await allowed({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'create' })).toBe(false);
  });

  it('cluster scope: one ClusterRole with the apply rules and Namespaces, bound to the same service account', async () => {
    const objects = await chart({ rbac: { scope: 'cluster' } })({ artifact: await directorySource(example).fetch() });
    const role = objects.find((o) => o.kind === 'ClusterRole') as KubeObject & { rules: { resources: string[] }[] };
    expect(role.rules.flatMap((r) => r.resources)).toEqual(expect.arrayContaining(['deployments', 'configmaps', 'secrets', 'namespaces']));
    expect(objects.find((o) => o.kind === 'ClusterRoleBinding')).toMatchObject({ roleRef: { kind: 'ClusterRole', name: role.metadata.name }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: agentNs }] });
    expect(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.namespace)).toEqual([agentNs]);
    await expect(chart({ rbac: { scope: 'namespace' } })({ artifact: await directorySource(example).fetch() })).rejects.toThrow(/rbac.namespaces/);
  });
});

describe('the agent in-cluster, as the chart service account', () => {
  let root: string;
  const replicas: AgentProcess[] = [];

  beforeAll(async () => {
    // The pod's mounted service account: a token from the TokenRequest API (as the kubelet
    // gets it), the cluster CA and the namespace, under a root this test controls.
    root = join(work, 'pod');
    const dir = join(root, SERVICE_ACCOUNT_DIR);
    await mkdir(dir, { recursive: true });
    const request = await core.createNamespacedServiceAccountToken({ name: sa, namespace: agentNs, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    await writeFile(join(dir, 'token'), request.status?.token ?? '');
    await writeFile(join(dir, 'ca.crt'), await readFile(testEnvConnection().caCertPath));
    await writeFile(join(dir, 'namespace'), agentNs);

    // The chart's agent.yaml, with the app specs in a local folder and a free port.
    const manifests = join(work, 'manifests');
    await mkdir(join(manifests, 'web'), { recursive: true });
    await mkdir(join(manifests, 'intruder'), { recursive: true });
    await writeFile(join(manifests, 'web', 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\ndata: { greeting: hello }\n');
    await writeFile(join(manifests, 'intruder', 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: intruder }\ndata: { greeting: hello }\n');
    const specs = join(work, 'apps');
    await mkdir(specs);
    await writeFile(join(specs, 'web.yaml'), stringify({ source: { dir: manifests, path: 'web' }, namespace: appNs, createNamespace: false }));
    await writeFile(join(specs, 'intruder.yaml'), stringify({ source: { dir: manifests, path: 'intruder' }, namespace: otherNs, createNamespace: false }));
    const config = parse(agentYaml());
    await writeFile(join(work, 'agent.yaml'), stringify({ ...config, apps: { dir: specs }, intervalMs: 2000, listen: '127.0.0.1:0' }));

    // A second fleet for sharding: six apps, each one ConfigMap in the app namespace.
    const sharded = join(work, 'sharded');
    await mkdir(sharded);
    for (let i = 1; i <= 6; i++) {
      await writeFile(join(sharded, `s${i}.yaml`), stringify({ source: { dir: manifests, path: `s${i}` }, namespace: appNs, createNamespace: false }));
      await writeShardManifest(i, 'v1');
    }
    await writeFile(join(work, 'shard.yaml'), stringify({ ...config, name: `sh-${id}`, apps: { dir: sharded }, intervalMs: 2000, listen: '127.0.0.1:0', replicas: { mode: 'shard' } }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.proc.stop(5_000)));
  });

  async function writeShardManifest(i: number, version: string): Promise<void> {
    await mkdir(join(work, 'manifests', `s${i}`), { recursive: true });
    await writeFile(join(work, 'manifests', `s${i}`, 'app.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: s${i} }\ndata: { version: ${version} }\n`);
  }

  async function shardVersions(): Promise<string[]> {
    const list = await core.listNamespacedConfigMap({ namespace: appNs });
    return list.items.filter((c) => /^s\d$/.test(c.metadata?.name ?? '')).map((c) => c.data?.['version'] ?? '');
  }

  /** An agent process as a pod runs it: no kubeconfig anywhere, the service's host and port, the mounted service account under `root`. */
  async function startReplica(podName: string, configFile = 'agent.yaml'): Promise<AgentProcess> {
    const server = new URL(env.server);
    const replica = await startAgentProcess({
      name: podName,
      args: ['--config', join(work, configFile), '--service-account-root', root],
      home: work,
      logFile: join(work, `${podName}.log`),
      env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
    });
    replicas.push(replica);
    return replica;
  }

  it('reads the mounted token and CA, leads, and applies what its RBAC allows', async () => {
    const a = await startReplica('agent-a');
    expect(await a.waitFor((l) => l.msg === 'cluster')).toMatchObject({ mode: 'in-cluster', namespace: agentNs, identity: 'agent-a', server: env.server });
    await a.waitFor((l) => l.msg === 'leading');
    await a.waitFor((l) => l.msg === 'created' && l.object?.includes(`${appNs}/web`));
    expect((await core.readNamespacedConfigMap({ name: 'web', namespace: appNs })).data).toEqual({ greeting: 'hello' });
    // Its inventories live in its own namespace, where its Role lets it write them.
    const inventories = await core.listNamespacedConfigMap({ namespace: agentNs, labelSelector: 'converge.dev/inventory' });
    expect(inventories.items.length).toBeGreaterThanOrEqual(2);
  });

  it('a namespace its RBAC does not cover fails that app with a typed KUBE_FORBIDDEN naming the object; the other app is untouched', async () => {
    const a = replicas[0]!;
    const refused = await a.waitFor((l) => l.code === 'KUBE_FORBIDDEN');
    expect(refused.error).toMatch(new RegExp(`${otherNs}|intruder`));
    expect(refused.error).toContain(`system:serviceaccount:${agentNs}:${sa}`);
    await expect(core.readNamespacedConfigMap({ name: 'intruder', namespace: otherNs })).rejects.toMatchObject({ code: 404 });
    expect((await core.readNamespacedConfigMap({ name: 'web', namespace: appNs })).data).toEqual({ greeting: 'hello' });
  });

  it('a second replica stands by (ready, writing nothing); SIGTERM on the leader releases the Lease and the standby leads within seconds, not a lease duration', async () => {
    const [a] = replicas as [AgentProcess];
    const b = await startReplica('agent-b');
    const started = await b.waitFor((l) => l.msg === 'agent started');
    const readyz = await fetch(`${started.listen}/readyz`);
    expect(readyz.status).toBe(200);
    const lease = async () => (await leases.readNamespacedLease({ name: `pa-${id}-leader`, namespace: agentNs })).spec;
    expect((await lease())?.holderIdentity).toBe('agent-a');
    await new Promise((r) => setTimeout(r, 2_500)); // a retry period or so: b tried and stayed standby
    expect((await b.lines()).some((l) => l.msg === 'leading')).toBe(false);

    const t0 = Date.now();
    const exit = await a.proc.stop(20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await a.lines()).find((l) => l.msg === 'not leading')).toMatchObject({ reason: 'stopped' });
    await b.waitFor((l) => l.msg === 'leading', 15_000);
    const takeoverMs = Date.now() - t0;
    expect((await lease())?.holderIdentity).toBe('agent-b');
    // The standby's next attempt, at most 2.2 retry periods (4.4 s) away, finds the Lease free; without the release it would wait out the 15 s lease duration.
    expect(takeoverMs).toBeLessThan(7_500);
    console.log(`standby took over ${takeoverMs} ms after SIGTERM (lease duration 15000 ms)`);
  }, 60_000);

  it('shard mode: two replicas split the apps; after SIGTERM one gives its share up and the other runs every app', async () => {
    const c = await startReplica('shard-c', 'shard.yaml');
    const d = await startReplica('shard-d', 'shard.yaml');
    await until(async () => (await shardVersions()).filter((v) => v === 'v1').length === 6, 'six apps applied', 30_000);
    // Each app was created by exactly one replica: the membership split them.
    const createdBy = async (r: AgentProcess) => (await r.lines()).filter((l) => l.msg === 'created' && /\/s\d$/.test(l.object)).map((l) => String(l.object).slice(-2));
    // A replica logs an object's creation after the server has stored it: wait for the log lines too.
    await until(async () => (await createdBy(c)).length + (await createdBy(d)).length >= 6, "six apps' creation logged", 10_000);
    const [byC, byD] = [await createdBy(c), await createdBy(d)];
    expect([...byC, ...byD].sort()).toEqual(['s1', 's2', 's3', 's4', 's5', 's6']);
    console.log(`shard split: shard-c ${byC.sort().join(',') || '-'}, shard-d ${byD.sort().join(',') || '-'}`);

    const t0 = Date.now();
    expect(await c.proc.stop(20_000)).toEqual({ code: 0, signal: null });
    // c deleted its membership Lease on the way out.
    await expect(leases.readNamespacedLease({ name: `sh-${id}-shard-c`, namespace: agentNs })).rejects.toMatchObject({ code: 404 });
    for (let i = 1; i <= 6; i++) await writeShardManifest(i, 'v2');
    await until(async () => (await shardVersions()).filter((v) => v === 'v2').length === 6, 'every app applied by the remaining replica', 20_000);
    const movedMs = Date.now() - t0;
    console.log(`after SIGTERM to one of two shard replicas, the other applied all six apps in ${movedMs} ms (lease duration 15000 ms)`);
    expect(movedMs).toBeLessThan(12_000);
  }, 90_000);
});
