import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet, FleetResult } from '@converge/fleet';
import type { GitAppSpec } from '@converge/app-factory';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
// The real OCI registry (CNCF distribution's registry) the image gate's own tests use.
import { startRegistry, type TestRegistry } from '@converge/oci/testing';
import { previewFleet } from '../src/preview-fleet.ts';
import { mergeRequestPreviews } from '../src/merge-request-previews.ts';
import { giteaForge, type Forge } from '@converge/forge';
import { startGitea, type TestGitea } from '@converge/forge/testing';
import { repoFiles } from '@converge/playground';

// Real parts only: git http-backend behind the test git server, a real kube-apiserver + etcd
// (shared by this project's run), a real registry on loopback.
const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);
const apps = env.kubeConfig.makeApiClient(AppsV1Api);
let git: GitServer;
let registry: TestRegistry;
let sink: KubeSink;

beforeAll(async () => {
  [git, registry] = await Promise.all([startGitServer(), startRegistry()]);
  sink = kubeSink({ kubeConfig: env.kubeConfig });
});
afterAll(async () => {
  await sink?.close();
  await Promise.all([git?.close(), registry?.stop()]);
});

/** A fresh environment repository (the example's repo/ folder) and a fleet over its apps/. */
async function setup(repo: string): Promise<Fleet<GitAppSpec>> {
  await git.createRepo(repo);
  await git.commitFiles(repo, repoFiles(fileURLToPath(new URL('../repo', import.meta.url))), 'template and application');
  return previewFleet({
    name: repo,
    url: git.repoUrl(repo),
    sink,
    vars: { REGISTRY: `${registry.host}/acme` },
    imageGate: { insecureRegistries: [registry.host] },
  });
}

/** What CI writes for a merge request: the image tag it built. */
const spec = (tag: string) => `# written by CI for this merge request\nvars:\n  TAG: ${tag}\n`;

/** A pass result with errors as `code: message` text, so a failed assertion says why. */
async function pass(fleet: Fleet<GitAppSpec>): Promise<FleetResult & { errors: Record<string, string> }> {
  const result = await fleet.reconcile();
  const errors: Record<string, string> = {};
  if (result.error) errors['fleet'] = `${result.error.code}: ${result.error.message}`;
  for (const [app, r] of Object.entries(result.apps)) if (r.error) errors[app] = `${r.error.code}: ${r.error.message}`;
  return { ...result, errors };
}

/** Which of a preview's objects the API server has, with namespace phase. */
async function preview(namespace: string) {
  const found = async (read: () => Promise<unknown>) =>
    read().then(
      () => true,
      (e: { code?: number }) => {
        if (e.code === 404) return false;
        throw e;
      },
    );
  const ns = await core.readNamespace({ name: namespace }).catch((e: { code?: number }) => (e.code === 404 ? undefined : Promise.reject(e)));
  return {
    namespace: ns ? (ns.metadata?.deletionTimestamp ? `Terminating` : ns.status?.phase) : 'absent',
    deployment: await found(() => apps.readNamespacedDeployment({ name: 'shop', namespace })),
    configMap: await found(() => core.readNamespacedConfigMap({ name: 'shop-config', namespace })),
    service: await found(() => core.readNamespacedService({ name: 'shop', namespace })),
  };
}

const image = async (namespace: string) => (await apps.readNamespacedDeployment({ name: 'shop', namespace })).spec!.template.spec!.containers[0]!.image;

describe('dynamic per-merge-request environments', () => {
  it('apps/feature-x.yaml committed → namespace and workloads appear; file deleted → all of them are gone', async () => {
    const fleet = await setup('fx');
    await registry.push('acme/shop', 'feature-x-1a2b3c');

    await git.commitFiles('fx', { 'apps/feature-x.yaml': spec('feature-x-1a2b3c') }, 'preview for feature-x');
    const added = await pass(fleet);
    expect(added).toMatchObject({ status: 'succeeded', added: ['feature-x'], errors: {} });
    expect(added.apps['feature-x']).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    const inventories = await core.listNamespacedConfigMap({ namespace: 'converge-system', labelSelector: 'converge.dev/inventory' });
    expect(inventories.items.map((c) => c.metadata!.name)).toContain('converge-inventory-fx-feature-x');
    expect(await preview('preview-feature-x')).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    expect(await image('preview-feature-x')).toBe(`${registry.host}/acme/shop:feature-x-1a2b3c`);
    const cm = await core.readNamespacedConfigMap({ name: 'shop-config', namespace: 'preview-feature-x' });
    expect(cm.data).toEqual({ environment: 'feature-x', url: 'https://feature-x.preview.example.com' });
    expect(fleet.status().apps['feature-x']).toMatchObject({ name: 'fx-feature-x', managedObjects: 4, spec: { namespace: 'preview-feature-x' } });

    // The merge request closes: CI deletes the file.
    await git.deleteFiles('fx', ['apps/feature-x.yaml'], 'close feature-x');
    const removed = await pass(fleet);
    expect(removed).toMatchObject({ status: 'succeeded', removed: ['feature-x'], errors: {} });
    // Workloads are deleted outright. The Namespace is deleted too; without a
    // controller-manager (kube-testenv runs none) its `kubernetes` finalizer is never
    // cleared, so the API server shows it Terminating — a real cluster then removes it.
    const after = await preview('preview-feature-x');
    expect(after).toEqual({ namespace: expect.stringMatching(/^(Terminating|absent)$/), deployment: false, configMap: false, service: false });
    // Nor is the preview's inventory record left behind in converge-system.
    const records = await core.listNamespacedConfigMap({ namespace: 'converge-system', labelSelector: 'converge.dev/inventory' });
    expect(records.items.map((c) => c.metadata!.name)).not.toContain('converge-inventory-fx-feature-x');
    expect(fleet.app('feature-x')).toBeUndefined();
    expect(fleet.status().apps).toEqual({});
    // Nothing left for the next pass to do.
    expect(await pass(fleet)).toMatchObject({ status: 'succeeded', added: [], removed: [], errors: {} });
  });

  it('a preview whose file was deleted while the fleet was down is torn down by the restarted fleet', async () => {
    const fleet = await setup('restart');
    await registry.push('acme/shop', 'r-1');
    await git.commitFiles('restart', { 'apps/r.yaml': spec('r-1') }, 'preview r');
    expect(await pass(fleet)).toMatchObject({ status: 'succeeded', added: ['r'], errors: {} });
    await fleet.stop();
    expect((await preview('preview-r')).deployment).toBe(true);

    await git.deleteFiles('restart', ['apps/r.yaml'], 'close r');
    const restarted = previewFleet({ name: 'restart', url: git.repoUrl('restart'), sink, vars: { REGISTRY: `${registry.host}/acme` }, imageGate: { insecureRegistries: [registry.host] } });
    expect(await pass(restarted)).toMatchObject({ status: 'succeeded', added: [], removed: ['r'], errors: {} });
    expect(await preview('preview-r')).toEqual({ namespace: expect.stringMatching(/^(Terminating|absent)$/), deployment: false, configMap: false, service: false });
  });

  it('a broken spec file in apps/ fails the fleet pass with APP_SPEC_INVALID and prunes no preview', async () => {
    const fleet = await setup('broken');
    await registry.push('acme/shop', 'a-1');
    await registry.push('acme/shop', 'b-1');
    await git.commitFiles('broken', { 'apps/a.yaml': spec('a-1'), 'apps/b.yaml': spec('b-1') }, 'previews a and b');
    expect(await pass(fleet)).toMatchObject({ status: 'succeeded', added: ['a', 'b'], errors: {} });

    // One commit both removes b and adds a file that does not parse.
    await git.deleteFiles('broken', ['apps/b.yaml'], 'close b');
    await git.commitFiles('broken', { 'apps/c.yaml': 'vars: [TAG, c-1\n' }, 'broken spec');
    const failed = await pass(fleet);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'APP_SPEC_INVALID', data: { position: { file: 'apps/c.yaml' } } });
    expect(failed.removed).toEqual([]);
    expect(await preview('preview-a')).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    expect(await preview('preview-b')).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    expect(fleet.status()).toMatchObject({ lastError: { code: 'APP_SPEC_INVALID' } });
    expect(Object.keys(fleet.status().apps).sort()).toEqual(['a', 'b']);

    // Fixed: now b is torn down, c is created, a stays.
    await registry.push('acme/shop', 'c-1');
    await git.commitFiles('broken', { 'apps/c.yaml': spec('c-1') }, 'fix c');
    const fixed = await pass(fleet);
    expect(fixed).toMatchObject({ status: 'succeeded', added: ['c'], removed: ['b'], errors: {} });
    expect((await preview('preview-b')).deployment).toBe(false);
    expect(await preview('preview-a')).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    expect(await preview('preview-c')).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
  });

  it('a preview whose image is not pushed yet applies nothing; once CI pushes it, the next pass applies it', async () => {
    const fleet = await setup('gated');
    await git.commitFiles('gated', { 'apps/feature-y.yaml': spec('feature-y-9f8e7d') }, 'preview for feature-y');

    const held = await pass(fleet);
    expect(held).toMatchObject({ status: 'succeeded', added: ['feature-y'] });
    expect(held.apps['feature-y']).toMatchObject({ status: 'failed', error: { code: 'GATE_BLOCKED' } });
    expect(held.errors['feature-y']).toContain(`${registry.host}/acme/shop:feature-y-9f8e7d`);
    expect(await preview('preview-feature-y')).toEqual({ namespace: 'absent', deployment: false, configMap: false, service: false });

    await registry.push('acme/shop', 'feature-y-9f8e7d');
    const applied = await pass(fleet);
    expect(applied.apps['feature-y']).toMatchObject({ status: 'succeeded', counts: { created: 4 } });
    expect(await preview('preview-feature-y')).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    expect(await image('preview-feature-y')).toBe(`${registry.host}/acme/shop:feature-y-9f8e7d`);
  });
});

describe('previews from open merge requests in Gitea', () => {
  let gitea: TestGitea;
  beforeAll(async () => {
    gitea = await startGitea();
  });
  afterAll(async () => gitea?.stop());

  it('a merge request opened with the preview label gets an environment; a forge outage tears nothing down; closing it removes the environment', async () => {
    const repository = await gitea.createRepo('shop');
    await gitea.createLabel(repository, 'preview');
    await gitea.commitFiles(repository, repoFiles(fileURLToPath(new URL('../repo', import.meta.url))), 'the application');
    const labels = await gitea.api<{ id: number; name: string }[]>('GET', `/repos/${repository}/labels`);
    const previewLabel = labels.find((l) => l.name === 'preview')!.id;
    const open = async (branch: string, withLabel: boolean) => {
      await gitea.commitFiles(repository, { 'README.md': `work on ${branch}` }, branch, { branch, from: 'main' });
      return (await gitea.api<{ number: number; head: { sha: string } }>('POST', `/repos/${repository}/pulls`, { head: branch, base: 'main', title: branch, ...(withLabel && { labels: [previewLabel] }) }));
    };
    const login = await open('feature/login', true);
    const unlabelled = await open('feature/other', false);

    // The forge as the fleet reaches it; `outage` points it at a port where nothing listens.
    const real = giteaForge({ url: gitea.url, repository, token: gitea.admin.token });
    const down = giteaForge({ url: 'http://127.0.0.1:9', repository, token: gitea.admin.token, retries: 0 });
    let outage = false;
    const forge: Forge = { ...real, listMergeRequests: (o) => (outage ? down : real).listMergeRequests(o) };
    const fleet = mergeRequestPreviews({
      forge,
      url: gitea.cloneUrl(repository),
      auth: { username: gitea.admin.username, password: gitea.admin.token },
      sink,
      name: 'gitea-previews',
      vars: { REGISTRY: 'registry.example.com/acme' },
    });
    const app = `mr-${login.number}`;
    const namespace = `preview-${login.number}`;

    const first = await pass(fleet);
    expect(first).toMatchObject({ status: 'succeeded', added: [app], errors: {} });
    expect(await preview(namespace)).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    expect(await image(namespace)).toBe(`registry.example.com/acme/shop:${login.head.sha.slice(0, 8)}`);
    expect((await core.readNamespacedConfigMap({ name: 'shop-config', namespace })).data).toMatchObject({ environment: app });
    expect((await preview(`preview-${unlabelled.number}`)).namespace).toBe('absent');

    // The forge cannot be reached: the pass fails, the preview stays.
    outage = true;
    const failed = await pass(fleet);
    expect(failed).toMatchObject({ status: 'failed', removed: [] });
    expect(failed.errors['fleet']).toMatch(/^FORGE_UNREACHABLE/);
    expect(await preview(namespace)).toEqual({ namespace: 'Active', deployment: true, configMap: true, service: true });
    outage = false;

    // Closed in Gitea: the environment goes.
    await gitea.api('PATCH', `/repos/${repository}/pulls/${login.number}`, { state: 'closed' });
    expect(await pass(fleet)).toMatchObject({ status: 'succeeded', removed: [app], errors: {} });
    expect(await preview(namespace)).toEqual({ namespace: expect.stringMatching(/^(Terminating|absent)$/), deployment: false, configMap: false, service: false });
    await fleet.stop();
  });
});
