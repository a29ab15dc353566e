import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileResult } from '@converge/core';
import { gitSource } from '@converge/git-source';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { appManifest } from '../src/app-manifest.ts';
import { environmentReconciler } from '../src/environment-reconciler.ts';
import { deployed } from '../src/environment-status.ts';
import { mergePromotion, openPromotion, promoteBranch } from '../src/promote.ts';
import { overlay, overlayFiles, overlayReconciler } from '../src/overlays.ts';
import { approvedProduction, proposeRelease } from '../src/production-approval.ts';
import { giteaForge } from '@converge/forge';
import { startGitea, type GiteaUser, type TestGitea } from '@converge/forge/testing';

// The real parts: a git smart-HTTP server (git http-backend), the git CLI for promotion, and a
// real kube-apiserver + etcd shared by this project's run (vitest global setup).
const env = await useTestEnv();
const apps = env.kubeConfig.makeApiClient(AppsV1Api);
const core = env.kubeConfig.makeApiClient(CoreV1Api);
let git: GitServer;
let sink: KubeSink;

beforeAll(async () => {
  git = await startGitServer();
  sink = kubeSink({ kubeConfig: env.kubeConfig });
});
afterAll(async () => {
  await sink?.close();
  await git?.close();
});

/** Image and `ENVIRONMENT` env var of the running Deployment, and its replicas. */
async function workload(namespace: string) {
  const d = await apps.readNamespacedDeployment({ name: 'shop', namespace });
  const container = d.spec!.template.spec!.containers[0]!;
  return { image: container.image, ENVIRONMENT: container.env?.find((e) => e.name === 'ENVIRONMENT')?.value, replicas: d.spec!.replicas };
}

/** A pass result with its error's code and message in view, so a failure says why. */
async function pass(reconciler: { reconcile(): Promise<ReconcileResult> }) {
  const result = await reconciler.reconcile();
  return { ...result, ...(result.error && { error: `${result.error.code}: ${result.error.message}` }) };
}

describe('branch per environment', () => {
  it('each branch deploys to its own namespace with its own ENVIRONMENT; merging staging into production promotes the new version', async () => {
    // A hosted repository always has a default branch; here it is production.
    await git.createRepo('branches', { defaultBranch: 'production' });
    const url = git.repoUrl('branches');
    const first = await git.commitFiles('branches', { 'app.yaml': appManifest('1.0.0') }, 'shop 1.0.0', { branch: 'staging' });
    await git.setRef('branches', 'refs/heads/production', first);
    const reconciler = (environment: string, REPLICAS: string) =>
      environmentReconciler({ environment, namespace: `branch-${environment}`, name: `branch-${environment}`, vars: { REPLICAS }, sink, source: gitSource({ url, ref: { branch: environment } }) });
    const staging = reconciler('staging', '1');
    const production = reconciler('production', '3');

    expect(await pass(staging)).toMatchObject({ status: 'succeeded', revision: `staging@sha1:${first}`, counts: { created: 4 } });
    expect(await pass(production)).toMatchObject({ status: 'succeeded', revision: `production@sha1:${first}`, counts: { created: 4 } });
    expect(await deployed(env.kubeConfig, 'branch-staging')).toEqual({ environment: 'staging', version: '1.0.0' });
    expect(await deployed(env.kubeConfig, 'branch-production')).toEqual({ environment: 'production', version: '1.0.0' });
    expect(await workload('branch-staging')).toEqual({ image: 'registry.example.com/shop:1.0.0', ENVIRONMENT: 'staging', replicas: 1 });
    expect(await workload('branch-production')).toEqual({ image: 'registry.example.com/shop:1.0.0', ENVIRONMENT: 'production', replicas: 3 });

    // A release lands on staging only.
    const release = await git.commitFiles('branches', { 'app.yaml': appManifest('1.1.0') }, 'shop 1.1.0', { branch: 'staging' });
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', revision: `staging@sha1:${release}`, counts: { updated: 2, created: 0, deleted: 0 } });
    expect(await pass(production)).toMatchObject({ status: 'succeeded', revision: `production@sha1:${first}`, counts: { updated: 0, created: 0 } });
    expect((await workload('branch-staging')).image).toBe('registry.example.com/shop:1.1.0');
    expect((await workload('branch-production')).image).toBe('registry.example.com/shop:1.0.0');

    // Promotion: `git merge staging` on production with the git CLI, pushed to the server.
    const merged = await promoteBranch({ repoUrl: url, from: 'staging', to: 'production' });
    expect(await git.revParse('branches', 'production')).toBe(merged);
    expect(await git.git('branches', ['log', '--format=%s', '-1', 'production'])).toBe('promote staging to production');
    expect(await pass(production)).toMatchObject({ status: 'succeeded', revision: `production@sha1:${merged}`, counts: { updated: 2, created: 0, deleted: 0 } });
    expect(await deployed(env.kubeConfig, 'branch-production')).toEqual({ environment: 'production', version: '1.1.0' });
    expect(await workload('branch-production')).toEqual({ image: 'registry.example.com/shop:1.1.0', ENVIRONMENT: 'production', replicas: 3 });
    // Staging is untouched by the promotion.
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', revision: `staging@sha1:${release}`, counts: { updated: 0 } });
    expect(await deployed(env.kubeConfig, 'branch-staging')).toEqual({ environment: 'staging', version: '1.1.0' });
  });
});

describe('folder per environment', () => {
  it('each folder deploys to its own namespace with its own ENVIRONMENT; a merged merge request copying the file promotes the new version', async () => {
    await git.createRepo('folders');
    const url = git.repoUrl('folders');
    const first = await git.commitFiles('folders', { 'envs/staging/app.yaml': appManifest('1.0.0'), 'envs/production/app.yaml': appManifest('1.0.0') }, 'shop 1.0.0');
    const reconciler = (environment: string) =>
      environmentReconciler({ environment, namespace: `folder-${environment}`, name: `folder-${environment}`, sink, source: gitSource({ url, ref: { branch: 'main' }, path: `envs/${environment}` }) });
    const staging = reconciler('staging');
    const production = reconciler('production');

    expect(await pass(staging)).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await deployed(env.kubeConfig, 'folder-staging')).toEqual({ environment: 'staging', version: '1.0.0' });
    expect(await deployed(env.kubeConfig, 'folder-production')).toEqual({ environment: 'production', version: '1.0.0' });

    await git.commitFiles('folders', { 'envs/staging/app.yaml': appManifest('1.1.0') }, 'staging: shop 1.1.0');
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', counts: { updated: 2 } });
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { updated: 0, created: 0, deleted: 0 } });
    expect(await deployed(env.kubeConfig, 'folder-staging')).toEqual({ environment: 'staging', version: '1.1.0' });
    expect(await deployed(env.kubeConfig, 'folder-production')).toEqual({ environment: 'production', version: '1.0.0' });

    // The merge request: a pushed branch. Reconcilers follow main, so nothing moves yet.
    const branch = await openPromotion({ repoUrl: url, from: 'envs/staging', to: 'envs/production', files: ['app.yaml'] });
    expect(branch).toBe('promote/staging-to-production');
    expect(await git.git('folders', ['show', `${branch}:envs/production/app.yaml`])).toBe(appManifest('1.1.0').trimEnd());
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { updated: 0 } });
    expect(await deployed(env.kubeConfig, 'folder-production')).toEqual({ environment: 'production', version: '1.0.0' });

    // Merged: production follows main.
    const merged = await mergePromotion({ repoUrl: url, branch });
    expect(await git.git('folders', ['rev-list', '--parents', '-1', 'main'])).toMatch(new RegExp(`^${merged} \\w+ \\w+$`));
    expect(await pass(production)).toMatchObject({ status: 'succeeded', revision: `main@sha1:${merged}`, counts: { updated: 2, created: 0, deleted: 0 } });
    expect(await deployed(env.kubeConfig, 'folder-production')).toEqual({ environment: 'production', version: '1.1.0' });
    expect(await workload('folder-production')).toMatchObject({ image: 'registry.example.com/shop:1.1.0', ENVIRONMENT: 'production' });
    expect(first).not.toBe(merged);
    // ENVIRONMENT comes from the reconciler, not from the copied file.
    expect((await core.readNamespacedConfigMap({ name: 'shop-config', namespace: 'folder-production' })).data).toMatchObject({ greeting: 'Hello from production' });
  });
});

describe('base and overlays (Kustomize)', () => {
  it("each overlay renders the base with its namespace, replicas and tag; a tag change in the staging overlay moves only staging; promotion copies it", async () => {
    await git.createRepo('overlays');
    const url = git.repoUrl('overlays');
    await git.commitFiles('overlays', overlayFiles({ staging: '1.0.0', production: '1.0.0' }, 'overlay-'), 'shop 1.0.0 everywhere');
    const reconciler = (environment: string) => overlayReconciler({ environment, sink, source: gitSource({ url, ref: { branch: 'main' } }) });
    const [staging, production] = [reconciler('staging'), reconciler('production')];

    // Namespace, ConfigMap, Service, Deployment per overlay.
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await deployed(env.kubeConfig, 'overlay-staging')).toEqual({ environment: 'staging', version: '1.0.0' });
    expect(await workload('overlay-production')).toMatchObject({ image: 'registry.example.com/shop:1.0.0', replicas: 3 });
    expect(await workload('overlay-staging')).toMatchObject({ replicas: 1 });

    await git.commitFiles('overlays', overlay('staging', 1, '1.1.0', 'overlay-staging'), 'staging: shop 1.1.0');
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', counts: { updated: 2 } });
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { updated: 0, created: 0, deleted: 0 } });
    expect(await workload('overlay-staging')).toMatchObject({ image: 'registry.example.com/shop:1.1.0' });
    expect(await workload('overlay-production')).toMatchObject({ image: 'registry.example.com/shop:1.0.0' });

    await git.commitFiles('overlays', overlay('production', 3, '1.1.0', 'overlay-production'), 'production: shop 1.1.0');
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { updated: 2 } });
    expect(await deployed(env.kubeConfig, 'overlay-production')).toEqual({ environment: 'production', version: '1.1.0' });
    expect(await workload('overlay-production')).toMatchObject({ image: 'registry.example.com/shop:1.1.0', replicas: 3 });
  });
});

describe('production approval through a merge request (real Gitea)', () => {
  let gitea: TestGitea;
  let reviewer: GiteaUser;
  beforeAll(async () => {
    gitea = await startGitea();
    reviewer = await gitea.createUser('reviewer');
  });
  afterAll(async () => gitea?.stop());

  it('staging deploys on push; a production change waits while its merge request is open, and is applied once a person approves and merges it in Gitea', async () => {
    const repository = await gitea.createRepo('shop-env');
    await gitea.addCollaborator(repository, reviewer.username);
    await gitea.createLabel(repository, 'promotion');
    // production branches off before the first release; merging into it takes one approval.
    await gitea.api('POST', `/repos/${repository}/branches`, { new_branch_name: 'production', old_ref_name: 'main' });
    await gitea.api('POST', `/repos/${repository}/branch_protections`, { branch_name: 'production', required_approvals: 1, enable_push: true });
    const repo = { forge: giteaForge({ url: gitea.url, repository, token: gitea.admin.token }), url: gitea.cloneUrl(repository), auth: { username: gitea.admin.username, password: gitea.admin.token } };
    const staging = environmentReconciler({ environment: 'staging', namespace: 'approval-staging', name: 'approval-staging', sink, source: gitSource({ url: repo.url, ref: { branch: 'main' }, auth: repo.auth }) });
    const production = approvedProduction(repo, { sink, namespace: 'approval-production', name: 'approval-production', vars: { REPLICAS: '3' } });
    const blocked: string[] = [];
    production.on('gate.blocked', (e) => blocked.push(e.message));
    const merge = (number: number) => gitea.api('POST', `/repos/${repository}/pulls/${number}/merge`, { Do: 'merge' }, reviewer);

    // A release on main: staging deploys on push. Production's tip came through no merge request.
    await gitea.commitFiles(repository, { 'app.yaml': appManifest('1.0.0') }, 'shop 1.0.0');
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await pass(production)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^GATE_BLOCKED: .*not approved/) });
    expect(await deployed(env.kubeConfig, 'approval-production')).toBeUndefined();

    // Proposed as a merge request: production still waits.
    const first = await proposeRelease(repo, { version: '1.0.0', manifest: appManifest('1.0.0'), labels: ['promotion'] });
    expect(first).toMatchObject({ opened: true, pushed: true, mergeRequest: { state: 'open', sourceBranch: 'promote/shop-1.0.0', targetBranch: 'production', labels: ['promotion'] } });
    expect(await pass(production)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^GATE_BLOCKED/) });
    expect(await deployed(env.kubeConfig, 'approval-production')).toBeUndefined();
    // Gitea refuses the merge until someone approves (once it has checked the branch).
    await expect.poll(() => merge(first.mergeRequest.number).then(() => 'merged', (e: Error) => e.message), { timeout: 30_000, interval: 500 }).toMatch(/approv/i);

    // A person approves and merges in Gitea: production applies the merge.
    await gitea.api('POST', `/repos/${repository}/pulls/${first.mergeRequest.number}/reviews`, { event: 'APPROVED', body: 'ship it' }, reviewer);
    await merge(first.mergeRequest.number);
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await deployed(env.kubeConfig, 'approval-production')).toEqual({ environment: 'production', version: '1.0.0' });
    expect(await workload('approval-production')).toMatchObject({ image: 'registry.example.com/shop:1.0.0', replicas: 3 });

    // The next release: staging at once; production keeps 1.0.0 while the merge request is open.
    await gitea.commitFiles(repository, { 'app.yaml': appManifest('1.1.0') }, 'shop 1.1.0');
    expect(await pass(staging)).toMatchObject({ status: 'succeeded', counts: { updated: 2 } });
    const second = await proposeRelease(repo, { version: '1.1.0', manifest: appManifest('1.1.0'), labels: ['promotion'] });
    expect(second.opened).toBe(true);
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { updated: 0, created: 0 } });
    expect(await deployed(env.kubeConfig, 'approval-production')).toEqual({ environment: 'production', version: '1.0.0' });
    await gitea.api('POST', `/repos/${repository}/pulls/${second.mergeRequest.number}/reviews`, { event: 'APPROVED', body: 'ok' }, reviewer);
    await expect.poll(() => merge(second.mergeRequest.number).then(() => 'merged', (e: Error) => e.message), { timeout: 30_000, interval: 500 }).toBe('merged');
    expect(await pass(production)).toMatchObject({ status: 'succeeded', counts: { updated: 2 } });
    expect(await deployed(env.kubeConfig, 'approval-production')).toEqual({ environment: 'production', version: '1.1.0' });

    // A direct push to production, past review, is not applied: production keeps 1.1.0.
    await gitea.commitFiles(repository, { 'app.yaml': appManifest('6.6.6') }, 'hotfix without review', { branch: 'production' });
    expect(await pass(production)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^GATE_BLOCKED: .*not approved/) });
    expect(await deployed(env.kubeConfig, 'approval-production')).toEqual({ environment: 'production', version: '1.1.0' });
    expect(blocked.length).toBeGreaterThanOrEqual(3);
  });
});
