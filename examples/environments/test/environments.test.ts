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
