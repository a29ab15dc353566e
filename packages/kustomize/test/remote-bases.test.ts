import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KustomizeEngine, KustomizeError, gitRemoteResolver, kustomize, parseRemoteUrl, trackRemoteBases } from '../src/index.js';
import { artifactOf, kustomizeBuild } from './helpers/fixtures.js';

const engine = new KustomizeEngine();
const bin = inject('kustomizeBin');
let git: GitServer;
let http: Server;
let httpUrl: string;
let cacheDir: string;

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: ${image}
`;
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-http\ndata:\n  k: v\n';

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'kustomize-remote-'));
  git = await startGitServer({ auth: { username: 'ci', password: 's3cret-token' } });
  await git.createRepo('platform');
  await git.commitFiles(
    'platform',
    {
      'deploy/base/kustomization.yaml': 'resources:\n- deployment.yaml\n- ../shared\n',
      'deploy/base/deployment.yaml': deployment('api:1.0'),
      'deploy/shared/kustomization.yaml': 'configMapGenerator:\n- name: shared\n  literals: [A=1]\n',
    },
    'v1',
  );
  await git.tag('platform', 'v1');
  http = createServer((req, res) => {
    if (req.url === '/cm.yaml') res.end(configMap);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await engine.close();
  await git?.close();
  await new Promise((r) => http?.close(r));
  await rm(cacheDir, { recursive: true, force: true });
});

const auth = { username: 'ci', password: 's3cret-token' };
const overlay = (resources: string[]) => ({
  'overlay/kustomization.yaml': `namespace: prod\nresources:\n${resources.map((r) => `- ${r}`).join('\n')}\nimages:\n- name: api\n  newTag: "2.0"\n`,
});

describe('remote bases', () => {
  it('parses the URL forms kustomize accepts', () => {
    expect(parseRemoteUrl('https://github.com/org/repo//deploy/base?ref=v1.2.0')).toEqual({ kind: 'git', repository: 'https://github.com/org/repo', path: 'deploy/base', ref: 'v1.2.0' });
    expect(parseRemoteUrl('github.com/org/repo/deploy/base?ref=main')).toEqual({ kind: 'git', repository: 'https://github.com/org/repo', path: 'deploy/base', ref: 'main' });
    expect(parseRemoteUrl('https://git.example.com/team/repo.git/base')).toEqual({ kind: 'git', repository: 'https://git.example.com/team/repo.git', path: 'base' });
    expect(parseRemoteUrl('https://raw.example.com/org/repo/main/cm.yaml')).toEqual({ kind: 'http', url: 'https://raw.example.com/org/repo/main/cm.yaml' });
    expect(() => parseRemoteUrl('git@github.com:org/repo.git')).toThrow(/ssh/);
  });

  it('a Git base and an HTTP file render as with the kustomize binary (which clones with git)', async () => {
    const base = `${git.repoUrl('platform')}//deploy/base?ref=v1`;
    const files = overlay([base, `${httpUrl}/cm.yaml`]);
    const resolver = gitRemoteResolver({ auth, cacheDir });
    const out = await engine.build({
      files: Object.entries(files).map(([name, text]) => ({ name, data: new TextEncoder().encode(text) })),
      path: 'overlay',
      loadRestrictor: 'rootOnly',
      generateKustomization: false,
      enableHelm: false,
      limits: { maxMemoryBytes: 512 << 20, maxOutputBytes: 64 << 20, timeoutMs: 60_000 },
      resolve: (url, kustomizationFile) => resolver(url, { kustomizationFile }),
    });
    // The binary gets the credentials the way git does, in the URL.
    const dir = await mkdtemp(join(cacheDir, 'bin-'));
    await mkdir(join(dir, 'overlay'));
    const withCreds = `${git.repoUrl('platform', auth)}//deploy/base?ref=v1`;
    await writeFile(join(dir, 'overlay', 'kustomization.yaml'), overlay([withCreds, `${httpUrl}/cm.yaml`])['overlay/kustomization.yaml']);
    const binary = await kustomizeBuild(bin, join(dir, 'overlay'), [], { GIT_TERMINAL_PROMPT: '0' });
    expect(out.yaml).toBe(binary);
    expect(out.yaml).toContain('image: api:2.0');
    expect(out.yaml).toContain('name: shared-');
    expect(out.remotes.map((r) => r.url)).toEqual([base, `${httpUrl}/cm.yaml`]);
    expect(out.remotes[0]!.revision).toMatch(/^v1@sha1:[0-9a-f]{40}$/);
    expect(out.remotes[1]!.revision).toMatch(/^sha256:/);
  });

  it('a base that cannot be fetched is KUSTOMIZE_REMOTE_FAILED with the URL and no credentials', async () => {
    const url = `${git.repoUrl('missing', auth)}//base?ref=v1`;
    const err = await kustomize({ engine, path: 'overlay', remote: gitRemoteResolver({ cacheDir }) })({ artifact: await artifactOf(overlay([url])) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KustomizeError);
    expect((err as KustomizeError).code).toBe('KUSTOMIZE_REMOTE_FAILED');
    expect((err as KustomizeError).file).toBe('overlay/kustomization.yaml');
    expect((err as KustomizeError).message).toContain('/missing.git');
    expect(JSON.stringify({ m: (err as Error).message, d: (err as KustomizeError).data })).not.toContain('s3cret-token');
  });

  it('an error inside a remote base names the file by its URL, not by where the engine keeps it', async () => {
    await git.createRepo('broken');
    await git.commitFiles('broken', { 'base/kustomization.yaml': 'resources:\n- missing.yaml\n' }, 'broken base');
    const url = `${git.repoUrl('broken', auth)}//base`;
    const err = await kustomize({ engine, path: 'overlay', remote: gitRemoteResolver({ cacheDir }) })({ artifact: await artifactOf(overlay([url])) }).catch((e: unknown) => e);
    expect((err as KustomizeError).code).toBe('KUSTOMIZE_RESOURCE_NOT_FOUND');
    expect((err as Error).message).toContain(`${git.repoUrl('broken')}//base/missing.yaml`);
    expect((err as Error).message).not.toMatch(/\/remote\/|s3cret-token/);
    expect((err as KustomizeError).file).toBe(`${git.repoUrl('broken')}//base/kustomization.yaml`);
  });

  it('without a resolver (remote: false) a remote entry is refused, never fetched by the engine', async () => {
    const err = await kustomize({ engine, path: 'overlay', remote: false })({ artifact: await artifactOf(overlay([`${httpUrl}/cm.yaml`])) }).catch((e: unknown) => e);
    expect((err as KustomizeError).code).toBe('KUSTOMIZE_REMOTE_FAILED');
  });

  it('trackRemoteBases: a new commit on a floating ref upstream is a new revision, and the render follows it', async () => {
    await git.commitFiles('platform', { 'deploy/base/deployment.yaml': deployment('api:1.0') }, 'on main');
    const base = `${git.repoUrl('platform')}//deploy/base?ref=main`;
    const artifact = await artifactOf({ 'overlay/kustomization.yaml': `resources:\n- ${base}\n` }, 'main@sha1:aaaa');
    const inner = { id: 'overlay', latestRevision: async () => artifact.revision, fetch: async () => artifact };
    const tracked = trackRemoteBases(inner, gitRemoteResolver({ auth, cacheDir }));
    const render = kustomize({ engine, path: 'overlay', remote: tracked.remote });

    expect(await tracked.source.latestRevision()).toBe('main@sha1:aaaa'); // no build yet
    const first = await render({ artifact: await tracked.source.fetch() });
    const r1 = await tracked.source.latestRevision();
    expect(r1).toMatch(/^main@sha1:aaaa\+remote:[0-9a-f]{16}$/);
    expect(await tracked.source.latestRevision()).toBe(r1);

    await git.commitFiles('platform', { 'deploy/base/deployment.yaml': deployment('api:1.1') }, 'upstream change');
    const r2 = await tracked.source.latestRevision();
    expect(r2).not.toBe(r1);
    const fetched = await tracked.source.fetch(r2);
    expect(fetched.revision).toBe(r2);
    const second = await render({ artifact: fetched });
    const image = (objs: typeof first) => (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image;
    expect([image(first), image(second)]).toEqual(['api:1.0', 'api:1.1']);
  });
});
