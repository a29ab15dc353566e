import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HelmError, WasmEngine, helmChart } from '../src/index.js';
import { artifactOf } from './helpers/artifact.js';
import { fixtures } from './helpers/charts.js';
import { startRegistry, type TestRegistry } from '@converge/oci/testing';
import { helm, startRepoServer, type RepoServer } from './helpers/servers.js';

const helmBin = inject('helmBin');
const engine = new WasmEngine();
const artifact = artifactOf({ 'values/prod.yaml': 'replicaCount: 4\n' });
const work = mkdtempSync(join(tmpdir(), 'helm-remote-'));
const repoDir = join(work, 'repo');

beforeAll(() => {
  // basic at four versions (one a pre-release), umbrella once; index.yaml with relative URLs.
  for (const version of ['0.1.0', '0.2.0', '1.0.0-rc.1', '1.1.0']) {
    helm(helmBin, ['package', join(fixtures, 'charts', 'basic'), '--version', version, '--destination', repoDir], work);
  }
  helm(helmBin, ['package', join(fixtures, 'charts', 'umbrella'), '--destination', repoDir], work);
  helm(helmBin, ['repo', 'index', repoDir], work);
});

afterAll(async () => {
  await engine.close();
  rmSync(work, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<HelmError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(HelmError);
  return err as HelmError;
}

const imageOf = (objects: { kind: string }[]) =>
  (objects.find((o) => o.kind === 'Deployment') as any).spec.template.spec.containers[0].image as string;

describe('charts from a Helm repository', () => {
  let server: RepoServer;
  let cacheDir: string;
  beforeAll(async () => {
    server = await startRepoServer(repoDir);
  });
  afterAll(() => server.close());

  const render = (o: { chart?: string; version?: string } = {}) =>
    helmChart({
      chart: o.chart ?? `${server.url}/basic`,
      ...(o.version ? { version: o.version } : {}),
      releaseName: 'web',
      valuesFiles: ['values/prod.yaml'],
      engine,
      repository: { cacheDir },
    })({ artifact });

  it('picks the newest stable version, or the newest in a semver range', async () => {
    cacheDir = mkdtempSync(join(work, 'cache-'));
    // appVersion is the image tag, and helm package --version leaves it at 1.0.0; the chart label shows the version.
    const latest = await render();
    expect((latest.find((o) => o.kind === 'Deployment') as any).spec.replicas).toBe(4);
    expect(JSON.stringify(latest)).toContain('nginx:1.0.0');
    const versions = readdirSync(join(cacheDir, 'sha256'));
    expect(versions).toHaveLength(1);

    for (const [range, expected] of [
      ['^0.1', '0.1.0'],
      ['~0.2.0', '0.2.0'],
      ['>=1.0.0-rc.0 <1.1.0', '1.0.0-rc.1'],
      ['1.1.0', '1.1.0'],
    ] as const) {
      server.requests.length = 0;
      cacheDir = mkdtempSync(join(work, 'cache-'));
      await render({ version: range });
      expect(server.requests, range).toContain(`/basic-${expected}.tgz`);
    }
  });

  it('serves a second render from the cache, downloading only the index', async () => {
    cacheDir = mkdtempSync(join(work, 'cache-'));
    await render({ version: '0.2.0' });
    server.requests.length = 0;
    await render({ version: '0.2.0' });
    expect(server.requests).toEqual(['/index.yaml']);
  });

  it('refuses an archive whose digest differs from the index', async () => {
    cacheDir = mkdtempSync(join(work, 'cache-'));
    const other = readFileSync(join(repoDir, 'basic-0.1.0.tgz'));
    server.override.set('/basic-0.2.0.tgz', new Uint8Array(other));
    try {
      const err = await failure(render({ version: '0.2.0' }));
      expect(err.code).toBe('HELM_DIGEST_MISMATCH');
    } finally {
      server.override.clear();
    }
  });

  it('reports an unknown chart, an unmatched range and an unreachable repository', async () => {
    cacheDir = mkdtempSync(join(work, 'cache-'));
    expect((await failure(render({ chart: `${server.url}/nope` }))).code).toBe('HELM_CHART_NOT_FOUND');
    const none = await failure(render({ version: '>=5' }));
    expect(none.code).toBe('HELM_CHART_NOT_FOUND');
    expect(none.data['available']).toEqual(expect.arrayContaining(['0.1.0', '1.1.0']));
    expect((await failure(render({ version: 'not a range!' }))).code).toBe('HELM_INVALID_OPTIONS');
    const down = await failure(render({ chart: 'http://127.0.0.1:1/basic' }));
    expect(down.code).toBe('HELM_REPOSITORY_ERROR');
    expect(down.retryable).toBe(true);
  });

  it('sends basic auth to a repository that requires it', async () => {
    const guarded = await startRepoServer(repoDir, { username: 'ci', password: 'p4ss' });
    try {
      const chart = `${guarded.url}/umbrella`;
      const withAuth = helmChart({ chart, releaseName: 'u', kubeVersion: '1.30.0', engine, repository: { username: 'ci', password: 'p4ss', cacheDir: mkdtempSync(join(work, 'cache-')) } });
      expect((await withAuth({ artifact })).map((o) => o.metadata.name)).toContain('u-frontend');
      const without = helmChart({ chart, releaseName: 'u', engine });
      const err = await failure(without({ artifact }));
      expect(err.code).toBe('HELM_REPOSITORY_ERROR');
      expect(err.message).toMatch(/401/);
      expect(err.message).not.toMatch(/p4ss/);
    } finally {
      await guarded.close();
    }
  });

  it('downloads a chart from a direct .tgz URL', async () => {
    const objects = await helmChart({ chart: `${server.url}/basic-0.1.0.tgz`, releaseName: 'd', engine })({ artifact });
    expect(objects.map((o) => o.metadata.name)).toEqual(['d-basic', 'd-basic']);
  });
});

describe('charts from an OCI registry (docker-registry on loopback, pushed with helm push)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    for (const file of readdirSync(repoDir).filter((f) => f.endsWith('.tgz'))) {
      helm(helmBin, ['push', join(repoDir, file), `oci://${registry.host}/charts`, '--plain-http'], work);
    }
  }, 120_000);
  afterAll(() => registry?.stop());

  const render = (version?: string, cacheDir = mkdtempSync(join(work, 'cache-'))) =>
    helmChart({
      chart: `oci://${registry.host}/charts/basic`,
      ...(version ? { version } : {}),
      releaseName: 'oci',
      engine,
      repository: { plainHttp: true, cacheDir },
    })({ artifact });

  it('renders a pushed chart by exact version and by range, like helm template of the same reference', async () => {
    const exact = await render('0.2.0');
    expect(exact.map((o) => o.metadata.name)).toEqual(['oci-basic', 'oci-basic']);

    const viaHelm = helm(helmBin, ['template', 'oci', `oci://${registry.host}/charts/basic`, '--version', '0.2.0', '--plain-http'], work);
    const viaCli = await helmChart({
      chart: `oci://${registry.host}/charts/basic`,
      version: '0.2.0',
      releaseName: 'oci',
      engine: 'cli',
      helmPath: helmBin,
      repository: { plainHttp: true, cacheDir: mkdtempSync(join(work, 'cache-')) },
    })({ artifact });
    expect(viaHelm).toContain('name: oci-basic');
    expect(viaCli).toEqual(exact);

    const latest = await render();
    expect(imageOf(latest)).toBe('nginx:1.0.0');
    const cacheDir = mkdtempSync(join(work, 'cache-'));
    await render('~0.1', cacheDir);
    expect(readdirSync(join(cacheDir, 'sha256'))).toHaveLength(1);
  });

  it('authenticates with the registry token flow (a token front for the real registry)', async () => {
    // A front that answers 401 + `WWW-Authenticate: Bearer …` until given the token its
    // /token endpoint hands out for basic auth ci:pw, then proxies to docker-registry.
    const seen: string[] = [];
    const front = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push(`${req.method} ${url.pathname} ${req.headers.authorization?.split(' ')[0] ?? '-'}`);
      if (url.pathname === '/token') {
        const ok = req.headers.authorization === `Basic ${Buffer.from('ci:pw').toString('base64')}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? JSON.stringify({ token: 't0k3n' }) : '{}');
        return;
      }
      if (req.headers.authorization !== 'Bearer t0k3n') {
        const realm = `http://127.0.0.1:${(front.address() as { port: number }).port}/token`;
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="front",scope="repository:charts/basic:pull"` }).end();
        return;
      }
      const upstream = await fetch(`http://${registry.host}${url.pathname}`, { headers: { accept: req.headers.accept ?? '*/*' } });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(front.address() as { port: number }).port}`;
      const render = (repository: object) =>
        helmChart({ chart: `oci://${host}/charts/basic`, version: '^0.2', releaseName: 'tok', engine, repository: { plainHttp: true, cacheDir: mkdtempSync(join(work, 'cache-')), ...repository } })({ artifact });
      expect((await render({ username: 'ci', password: 'pw' })).map((o) => o.metadata.name)).toEqual(['tok-basic', 'tok-basic']);
      expect(seen).toContain('GET /token Basic');
      expect(seen.filter((l) => l.endsWith('Bearer')).length).toBeGreaterThanOrEqual(3); // tags, manifest, blob
      const denied = await failure(render({ username: 'ci', password: 'wrong' }));
      expect(denied.code).toBe('HELM_REPOSITORY_ERROR');
      expect(denied.message).not.toMatch(/wrong/);
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it('never sends credentials to a token realm on another host over plain HTTP, even for a registry marked plainHttp', async () => {
    // The registry (insecure, as the user said) names a token service on another host, over http.
    const received: (string | undefined)[] = [];
    const realm = createServer((req, res) => {
      received.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => realm.listen(0, '127.0.0.1', resolve));
    const front = createServer((_req, res) => {
      const at = `http://127.0.0.1:${(realm.address() as { port: number }).port}/token`;
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${at}",service="front",scope="repository:charts/basic:pull"` }).end();
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(front.address() as { port: number }).port}`;
      const render = helmChart({
        chart: `oci://${host}/charts/basic`,
        version: '^0.2',
        releaseName: 'leak',
        engine,
        repository: { plainHttp: true, username: 'ci', password: 'hunter2', cacheDir: mkdtempSync(join(work, 'cache-')) },
      });
      await failure(render({ artifact }));
      expect(received.length).toBeGreaterThan(0);
      expect(received.every((h) => h === undefined)).toBe(true);
    } finally {
      await new Promise((resolve) => front.close(resolve));
      await new Promise((resolve) => realm.close(resolve));
    }
  });

  it('reports a missing chart or version', async () => {
    expect((await failure(render('9.9.9'))).code).toBe('HELM_CHART_NOT_FOUND');
    expect((await failure(render('>=9'))).code).toBe('HELM_CHART_NOT_FOUND');
    const bad = helmChart({ chart: `oci://${registry.host}/charts/basic:0.1.0`, releaseName: 'x', engine });
    expect((await failure(bad({ artifact }))).code).toBe('HELM_INVALID_OPTIONS');
  });
});
