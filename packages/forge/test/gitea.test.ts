import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReconciler, yamlFiles, type ReconcileEvent } from '@converge/core';
import { createFleet } from '@converge/fleet';
import { MemorySink } from '@converge/core/testing';
import { gitSource, gitWriter, type GitRef } from '@converge/git-source';
import { kubeSink } from '@converge/kube-sink';
import { startTestEnv, type TestEnv } from '@converge/kube-testenv';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalGate,
  commentPlan,
  giteaForge,
  mergeRequestSpecs,
  mergeRequestWriter,
  reportCommitStatus,
  webhookHandler,
  type Forge,
  type ForgeWebhookEvent,
} from '../src/index.js';
import { startGitea, type GiteaUser, type TestGitea } from '../src/testing/index.js';

// No namespace: a fleet application's namespace applies, else the reconciler's default.
const configMap = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

let gitea: TestGitea;
let forge: Forge;
let repository: string;
let reviewer: GiteaUser;
let cache: string;
let startedMs: number;

beforeAll(async () => {
  const t0 = Date.now();
  gitea = await startGitea();
  startedMs = Date.now() - t0;
  repository = await gitea.createRepo('deploy');
  reviewer = await gitea.createUser('reviewer');
  await gitea.addCollaborator(repository, reviewer.username);
  await gitea.createLabel(repository, 'preview');
  await gitea.createLabel(repository, 'promotion');
  await gitea.createLabel(repository, 'cluster-preview');
  await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'one') }, 'first deploy');
  forge = giteaForge({ url: gitea.url, repository, token: gitea.admin.token });
  cache = await mkdtemp(join(tmpdir(), 'converge-forge-test-'));
}, 120_000);

afterAll(async () => {
  await gitea?.stop();
  if (cache) await rm(cache, { recursive: true, force: true });
});

const source = (ref: GitRef, name: string) => gitSource({ url: gitea.cloneUrl(repository), ref, cacheDir: join(cache, name) });
const openPull = (head: string, base: string, title: string) =>
  gitea.api<{ number: number }>('POST', `/repos/${repository}/pulls`, { head, base, title });

describe('startGitea', () => {
  it('serves the API of the pinned Gitea within seconds', async () => {
    const version = await gitea.api<{ version: string }>('GET', '/version');
    expect(version.version).toMatch(/^1\.26\./);
    expect(startedMs).toBeLessThan(60_000);
    console.log(`gitea ${version.version} started in ${startedMs} ms`);
  });
});

describe('commit statuses', () => {
  it('a failed deployment shows as a failed status with the reason; the fix turns it green', async () => {
    const reconciler = createReconciler({ name: 'production', source: source({ branch: 'main' }, 'status'), render: yamlFiles({ path: 'app' }), sink: new MemorySink() });
    const writes: string[] = [];
    const stop = reportCommitStatus(reconciler, { forge, minIntervalMs: 0, onWrite: (w) => writes.push(`${w.state} ${w.sha.slice(0, 8)}`) });

    const broken = await gitea.commitFiles(repository, { 'app/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n' }, 'break it');
    expect((await reconciler.reconcile()).status).toBe('failed');
    await stop.flush();
    const failed = await forge.listCommitStatuses(broken);
    expect(failed).toEqual([expect.objectContaining({ context: 'converge/production', state: 'failure' })]);
    expect(failed[0]!.description).toMatch(/^YAML_SYNTAX: .*config\.yaml/);

    // A retry of the same failure writes nothing more.
    expect((await reconciler.reconcile()).status).toBe('failed');
    await stop.flush();
    expect(writes).toEqual([`pending ${broken.slice(0, 8)}`, `failure ${broken.slice(0, 8)}`]);

    const fixed = await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'two') }, 'fix it');
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    await stop.flush();
    expect(await forge.listCommitStatuses(fixed)).toEqual([expect.objectContaining({ context: 'converge/production', state: 'success', description: expect.stringMatching(/^in sync: /) })]);
    // The broken commit keeps its failure.
    expect((await forge.listCommitStatuses(broken))[0]!.state).toBe('failure');
    stop();
  });
});

describe('merge request comments', () => {
  it('one comment with the plan per environment, updated in place on a new push', async () => {
    await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'three') }, 'change value', { branch: 'change-value', from: 'main' });
    const pull = await openPull('change-value', 'main', 'Change the value');
    const live = new MemorySink();
    // Production as it is: main applied.
    const applied = await createReconciler({ name: 'production', source: source({ branch: 'main' }, 'live'), render: yamlFiles({ path: 'app' }), sink: live }).reconcile();
    expect(applied.error?.message).toBeUndefined();

    const previewHead = async () => {
      const mr = await forge.getMergeRequest(pull.number);
      const r = createReconciler({ name: 'production', source: source({ commit: mr.headSha }, `head-${mr.headSha}`), render: yamlFiles({ path: 'app' }), sink: live });
      const { revision, plan } = await r.preview();
      return commentPlan({ forge, mergeRequest: pull.number, plan, key: 'production', revision });
    };
    const first = await previewHead();
    expect(first.action).toBe('created');
    let comments = await forge.listComments(pull.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('0 to create, 1 to update, 0 to prune');
    expect(comments[0]!.body).toContain('"two" → "three"');

    await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'four'), 'app/extra.yaml': configMap('extra', 'x') }, 'another push', { branch: 'change-value' });
    const second = await previewHead();
    expect(second).toEqual({ action: 'updated', commentId: first.commentId });
    comments = await forge.listComments(pull.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('1 to create, 1 to update');
    expect(comments[0]!.body).toContain('"two" → "four"');
    expect(await previewHead()).toEqual({ action: 'unchanged', commentId: first.commentId });
  });
});

describe('approvals', () => {
  it('a production change proposed through a merge request waits until it is approved', async () => {
    await gitea.api('POST', `/repos/${repository}/branches`, { new_branch_name: 'production', old_ref_name: 'main' });
    const promote = mergeRequestWriter({
      forge,
      targetBranch: 'production',
      writer: (branch) => gitWriter({ url: gitea.cloneUrl(repository), branch, auth: { username: gitea.admin.username, password: gitea.admin.token }, cacheDir: join(cache, `writer-${branch.replace('/', '-')}`) }),
    });
    const proposal = await promote.propose({
      branch: 'promote/value-five',
      title: 'Promote value five',
      labels: ['promotion'],
      change: { change: (files: { write(p: string, c: string): void }) => files.write('app/config.yaml', configMap('app', 'five')), message: 'value five' },
    });
    expect(proposal).toMatchObject({ opened: true, pushed: true, mergeRequest: { targetBranch: 'production', sourceBranch: 'promote/value-five', labels: ['promotion'], state: 'open' } });
    // A second proposal on the branch goes to the same merge request.
    const again = await promote.propose({ branch: 'promote/value-five', title: 'x', change: { change: (files: { write(p: string, c: string): void }) => files.write('app/note.txt', 'n'), message: 'note' } });
    expect(again).toMatchObject({ opened: false, pushed: true, mergeRequest: { number: proposal.mergeRequest.number } });

    const sink = new MemorySink();
    const events: ReconcileEvent[] = [];
    const production = createReconciler({
      name: 'production-approved',
      source: source({ branch: 'promote/value-five' }, 'promoted'),
      render: yamlFiles({ path: 'app' }),
      sink,
      gates: [approvalGate({ forge, approvals: 1, labels: ['promotion'] })],
    });
    production.on('*', (e) => events.push(e));
    const blocked = await production.reconcile();
    expect(blocked.status).toBe('failed');
    expect(events.find((e) => e.type === 'gate.blocked')).toMatchObject({ message: expect.stringMatching(/needs 1 more approval/) });
    expect(sink.objects()).toHaveLength(0);

    await gitea.api('POST', `/repos/${repository}/pulls/${proposal.mergeRequest.number}/reviews`, { event: 'APPROVED', body: 'ship it' }, reviewer);
    expect(await production.reconcile()).toMatchObject({ status: 'succeeded', counts: { created: 1 } });
    expect(sink.objects()[0]).toMatchObject({ data: { value: 'five' } });
  });

  it('on a branch, only commits that a merge request merged pass; a direct push waits', async () => {
    const gate = approvalGate({ forge, mergedInto: ['production'] });
    const direct = await gitea.commitFiles(repository, { 'app/direct.yaml': configMap('direct', 'd') }, 'direct push', { branch: 'production' });
    expect(await gate.check([], { revision: `production@sha1:${direct}` })).toMatchObject({ ok: false, message: expect.stringMatching(/not approved: no open merge request .* no merge into production/) });

    const [promotion] = (await forge.listMergeRequests({ targetBranch: 'production' })).filter((mr) => mr.sourceBranch === 'promote/value-five');
    // Gitea checks mergeability in a background queue after each push: merge once it has.
    await expect
      .poll(() => gitea.api('POST', `/repos/${repository}/pulls/${promotion!.number}/merge`, { Do: 'merge' }).then(() => 'merged', (e: Error) => e.message), { timeout: 30_000, interval: 500 })
      .toBe('merged');
    const merged = await forge.getMergeRequest(promotion!.number);
    expect(merged.state).toBe('merged');
    expect(await gate.check([], { revision: `production@sha1:${merged.mergeCommitSha}` })).toEqual({ ok: true });
  });
});

describe('previews from open merge requests', () => {
  it('a merge request with the preview label gets an environment; closing it or removing the label tears it down; an outage tears nothing down', async () => {
    const sink = new MemorySink();
    const previews = mergeRequestSpecs({
      forge,
      labels: ['preview'],
      targetBranch: 'main',
      template: { namespace: 'preview-${NUMBER}', source: { commit: '${HEAD_SHA}' }, vars: { AUTHOR: '${AUTHOR}' } },
    });
    let specsForge = previews;
    const fleet = createFleet({
      name: 'previews',
      source: { id: 'previews', latestRevision: (o) => specsForge.latestRevision(o), fetch: (r, o) => specsForge.fetch(r, o) },
      sink,
      createApp: (spec) => ({ source: source({ commit: (spec.source as { commit: string }).commit }, `preview-${spec.name}`), render: yamlFiles({ path: 'app' }) }),
    });

    await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'preview-a') }, 'a', { branch: 'feature/A_thing', from: 'main' });
    await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'preview-b') }, 'b', { branch: 'feature-b', from: 'main' });
    const a = await openPull('feature/A_thing', 'main', 'A');
    const b = await openPull('feature-b', 'main', 'B');
    const labelId = (await gitea.api<{ id: number; name: string }[]>('GET', `/repos/${repository}/labels`)).find((l) => l.name === 'preview')!.id;
    await gitea.api('POST', `/repos/${repository}/issues/${a.number}/labels`, { labels: [labelId] });
    await gitea.api('POST', `/repos/${repository}/issues/${b.number}/labels`, { labels: [labelId] });

    const namespaces = () => sink.objects().filter((o) => o.kind === 'ConfigMap').map((o) => `${o.metadata.namespace}/${(o as unknown as { data: { value: string } }).data.value}`).sort();
    const first = await fleet.reconcile();
    expect(first.status).toBe('succeeded');
    expect(first.added.sort()).toEqual([`mr-${a.number}`, `mr-${b.number}`].sort());
    expect(namespaces()).toEqual([`preview-${a.number}/preview-a`, `preview-${b.number}/preview-b`]);

    // A push to a merge request updates its environment.
    await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'preview-a2') }, 'a2', { branch: 'feature/A_thing' });
    expect((await fleet.reconcile()).updated).toEqual([`mr-${a.number}`]);
    expect(namespaces()).toContain(`preview-${a.number}/preview-a2`);

    // An outage (a forge that refuses the token) fails the pass and removes nothing.
    specsForge = mergeRequestSpecs({ forge: giteaForge({ url: gitea.url, repository, token: 'wrong-token', retries: 0 }), labels: ['preview'], template: {} });
    const outage = await fleet.reconcile();
    expect(outage.status).toBe('failed');
    expect(outage.error).toMatchObject({ code: 'FORGE_UNAUTHORIZED' });
    expect(outage.error!.message).not.toContain('wrong-token');
    expect(namespaces()).toHaveLength(2);
    specsForge = previews;

    // Closing one and removing the label of the other tears both environments down.
    await gitea.api('PATCH', `/repos/${repository}/pulls/${a.number}`, { state: 'closed' });
    await gitea.api('DELETE', `/repos/${repository}/issues/${b.number}/labels/${labelId}`);
    const last = await fleet.reconcile();
    expect(last.removed.sort()).toEqual([`mr-${a.number}`, `mr-${b.number}`].sort());
    expect(namespaces()).toEqual([]);
    await fleet.stop();
  });

  it('a Gitea webhook for a merge request reaches the handler verified', async () => {
    const received: ForgeWebhookEvent[] = [];
    const server: Server = createServer(webhookHandler({ forge: 'gitea', secret: 'hook-secret', onEvent: (e) => received.push(e) }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await gitea.api('POST', `/repos/${repository}/hooks`, { type: 'gitea', active: true, events: ['pull_request'], config: { url: `http://127.0.0.1:${port}/hook`, content_type: 'json', secret: 'hook-secret' } });
      await gitea.commitFiles(repository, { 'app/hook.yaml': configMap('hook', 'h') }, 'hook', { branch: 'hooked', from: 'main' });
      const pull = await openPull('hooked', 'main', 'Hooked');
      await expect.poll(() => received, { timeout: 20_000 }).toContainEqual({ kind: 'merge_request', forge: 'gitea', number: pull.number, action: 'opened' });
    } finally {
      server.close();
    }
  });
});

describe('previews in a real cluster', () => {
  let env: TestEnv | undefined;
  beforeAll(async () => {
    env = await startTestEnv();
  }, 180_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('a merge request opened with the preview label gets an environment in the cluster; closing it removes the environment', async () => {
    const kube = env!.kubeConfig.makeApiClient(CoreV1Api);
    const sink = kubeSink({ kubeConfig: env!.kubeConfig, inventory: { namespace: 'default' } });
    const fleet = createFleet({
      name: 'cluster-previews',
      source: mergeRequestSpecs({ forge, labels: ['cluster-preview'], targetBranch: 'main', name: (mr) => `pr-${mr.number}`, template: { namespace: 'pr-${NUMBER}', source: { commit: '${HEAD_SHA}' } } }),
      sink,
      createApp: (spec) => ({ source: source({ commit: (spec.source as { commit: string }).commit }, `cluster-${spec.name}`), render: yamlFiles({ path: 'app' }) }),
    });
    await gitea.commitFiles(repository, { 'app/config.yaml': configMap('app', 'in-cluster') }, 'c', { branch: 'feature-cluster', from: 'main' });
    const labelId = (await gitea.api<{ id: number; name: string }[]>('GET', `/repos/${repository}/labels`)).find((l) => l.name === 'cluster-preview')!.id;
    const pull = await gitea.api<{ number: number }>('POST', `/repos/${repository}/pulls`, { head: 'feature-cluster', base: 'main', title: 'Cluster preview', labels: [labelId] });
    const ns = `pr-${pull.number}`;

    const first = await fleet.reconcile();
    expect(first).toMatchObject({ status: 'succeeded', added: [ns] });
    const cm = await kube.readNamespacedConfigMap({ name: 'app', namespace: ns });
    expect(cm.data).toEqual({ value: 'in-cluster' });

    await gitea.api('PATCH', `/repos/${repository}/pulls/${pull.number}`, { state: 'closed' });
    const last = await fleet.reconcile();
    expect(last).toMatchObject({ status: 'succeeded', removed: [ns] });
    await expect(kube.readNamespacedConfigMap({ name: 'app', namespace: ns })).rejects.toMatchObject({ code: 404 });
    // No namespace controller runs in the test control plane: the Namespace is deleted, and stays Terminating.
    const namespace = await kube.readNamespace({ name: ns }).catch(() => undefined);
    expect(namespace === undefined || namespace.metadata?.deletionTimestamp !== undefined).toBe(true);
    await fleet.stop();
  });
});

describe('faults against the real Gitea', () => {
  it('a wrong token is FORGE_UNAUTHORIZED without the token; a missing repository is FORGE_NOT_FOUND; a closed port is FORGE_UNREACHABLE', async () => {
    const bad = giteaForge({ url: gitea.url, repository, token: 'not-a-real-token-123', retries: 0 });
    const e1 = await bad.listMergeRequests().catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'FORGE_UNAUTHORIZED', data: { forge: 'gitea', status: 401 } });
    expect(JSON.stringify({ m: (e1 as Error).message, d: (e1 as { data: unknown }).data })).not.toContain('not-a-real-token-123');

    await expect(giteaForge({ url: gitea.url, repository: 'converge/nope', token: gitea.admin.token }).listMergeRequests()).rejects.toMatchObject({ code: 'FORGE_NOT_FOUND' });
    await expect(forge.getMergeRequest(9999)).rejects.toMatchObject({ code: 'FORGE_NOT_FOUND' });

    const closed = giteaForge({ url: 'http://127.0.0.1:9', repository, token: 't', retries: 0 });
    await expect(closed.setCommitStatus('a'.repeat(40), { context: 'c', state: 'success' })).rejects.toMatchObject({ code: 'FORGE_UNREACHABLE', retryable: true });
  });
});
