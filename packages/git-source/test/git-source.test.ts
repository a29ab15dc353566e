import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConvergeError } from '@converge/core';
import { gitSource, type GitSourceEvent } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

let server: GitServer;
const cleanup: (() => Promise<void>)[] = [];
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.close();
  for (const c of cleanup) await c();
});

async function cacheDir(): Promise<string> {
  const dir = await tempDir('converge-git-cache-');
  cleanup.push(dir.remove);
  return dir.path;
}

const pack = () => server.requests.filter((r) => r.packSent);

describe('refs', () => {
  let c1: string;
  let c2: string;
  beforeAll(async () => {
    await server.createRepo('refs');
    c1 = await server.commitFiles('refs', { 'app.yaml': 'v: 1\n' }, 'one');
    await server.tag('refs', 'v1.0.0');
    await server.tag('refs', 'v1.2.0', { message: 'annotated release' });
    c2 = await server.commitFiles('refs', { 'app.yaml': 'v: 2\n' }, 'two');
    await server.tag('refs', 'v1.3.0-rc.1');
    await server.tag('refs', 'v2.0.0', { message: 'major' });
    await server.commitFiles('refs', { 'app.yaml': 'v: feature\n' }, 'feature', { branch: 'feature/x' });
    await server.setRef('refs', 'refs/pull/7/head', c1);
  });

  test('a branch resolves to name@sha1 and fetches its files', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), ref: { branch: 'main' }, cacheDir: await cacheDir() });
    expect(await source.latestRevision()).toBe(`main@sha1:${c2}`);
    const artifact = await source.fetch();
    expect(artifact.revision).toBe(`main@sha1:${c2}`);
    expect(artifact.source).toBe(source.id);
    expect(await readAll(artifact.files)).toEqual({ 'app.yaml': 'v: 2\n' });
  });

  test('a branch with a slash in its name is not confused with a prefix match', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), ref: { branch: 'feature/x' }, cacheDir: await cacheDir() });
    const artifact = await source.fetch();
    expect(artifact.revision).toMatch(/^feature\/x@sha1:[0-9a-f]{40}$/);
    expect(await readAll(artifact.files)).toEqual({ 'app.yaml': 'v: feature\n' });
  });

  test('a lightweight tag and an annotated tag both resolve to their commit', async () => {
    const light = gitSource({ url: server.repoUrl('refs'), ref: { tag: 'v1.0.0' }, cacheDir: await cacheDir() });
    expect(await light.latestRevision()).toBe(`v1.0.0@sha1:${c1}`);
    const annotated = gitSource({ url: server.repoUrl('refs'), ref: { tag: 'v1.2.0' }, cacheDir: await cacheDir() });
    expect(await annotated.latestRevision()).toBe(`v1.2.0@sha1:${c1}`);
    expect(await readAll((await annotated.fetch()).files)).toEqual({ 'app.yaml': 'v: 1\n' });
  });

  test('a semver range picks the newest matching tag and skips prereleases', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), ref: { semver: '>=1.0.0 <2' }, cacheDir: await cacheDir() });
    expect(await source.latestRevision()).toBe(`v1.2.0@sha1:${c1}`);
    const major = gitSource({ url: server.repoUrl('refs'), ref: { semver: '^2' }, cacheDir: await cacheDir() });
    expect(await major.latestRevision()).toBe(`v2.0.0@sha1:${c2}`);
  });

  test('a commit needs no server round trip to resolve and fetches that exact commit', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), ref: { commit: c1 }, cacheDir: await cacheDir() });
    server.clearLog();
    expect(await source.latestRevision()).toBe(`sha1:${c1}`);
    expect(server.requests).toHaveLength(0);
    expect(await readAll((await source.fetch()).files)).toEqual({ 'app.yaml': 'v: 1\n' });
  });

  test('a raw ref name such as refs/pull/7/head is followed', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), ref: { name: 'refs/pull/7/head' }, cacheDir: await cacheDir() });
    expect(await source.latestRevision()).toBe(`refs/pull/7/head@sha1:${c1}`);
    expect(await readAll((await source.fetch()).files)).toEqual({ 'app.yaml': 'v: 1\n' });
  });

  test('no ref follows the default branch', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), cacheDir: await cacheDir() });
    expect(await source.latestRevision()).toBe(`main@sha1:${c2}`);
  });

  test('fetching an older revision returns that revision even after the branch moved', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), ref: { branch: 'main' }, cacheDir: await cacheDir() });
    const artifact = await source.fetch(`main@sha1:${c1}`);
    expect(artifact.revision).toBe(`main@sha1:${c1}`);
    expect(await readAll(artifact.files)).toEqual({ 'app.yaml': 'v: 1\n' });
  });

  test('a missing branch, tag or range is a GIT_REF_NOT_FOUND error', async () => {
    for (const ref of [{ branch: 'nope' }, { tag: 'v9' }, { semver: '>=5' }, { name: 'refs/pull/99/head' }]) {
      const source = gitSource({ url: server.repoUrl('refs'), ref, cacheDir: await cacheDir() });
      await expect(source.latestRevision()).rejects.toMatchObject({ code: 'GIT_REF_NOT_FOUND' });
    }
  });

  test('a missing repository is a GIT_REPO_NOT_FOUND error', async () => {
    const source = gitSource({ url: server.repoUrl('does-not-exist'), cacheDir: await cacheDir() });
    await expect(source.latestRevision()).rejects.toMatchObject({ code: 'GIT_REPO_NOT_FOUND' });
  });
});

describe('polling and fetching', () => {
  test('a poll uses protocol v2 ls-refs and downloads no pack', async () => {
    await server.createRepo('poll');
    await server.commitFiles('poll', { 'a.yaml': 'a: 1\n' }, 'one');
    const source = gitSource({ url: server.repoUrl('poll'), ref: { branch: 'main' }, cacheDir: await cacheDir() });
    await source.fetch();
    server.clearLog();
    await source.latestRevision();
    await source.latestRevision();
    expect(server.requests.length).toBeGreaterThan(0);
    expect(pack()).toEqual([]);
    expect(server.requests.every((r) => r.gitProtocol === 'version=2')).toBe(true);
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.command)).toEqual(['ls-refs', 'ls-refs']);
  });

  test('polling sees a new commit, and fetching it downloads only the new objects', async () => {
    await server.createRepo('moving');
    const big = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`static/f${i}.txt`, `${i}`.repeat(4000)]));
    await server.commitFiles('moving', { ...big, 'app.yaml': 'replicas: 1\n' }, 'one');
    const source = gitSource({ url: server.repoUrl('moving'), ref: { branch: 'main' }, cacheDir: await cacheDir() });
    const first = await source.latestRevision();
    await source.fetch(first);
    const firstBytes = pack().reduce((n, r) => n + r.bytesSent, 0);
    expect(await source.latestRevision()).toBe(first);

    const c2 = await server.commitFiles('moving', { 'app.yaml': 'replicas: 3\n' }, 'scale');
    const second = await source.latestRevision();
    expect(second).toBe(`main@sha1:${c2}`);
    server.clearLog();
    const artifact = await source.fetch(second);
    expect(new TextDecoder().decode(await artifact.files.read('app.yaml'))).toBe('replicas: 3\n');
    expect((await artifact.files.list()).length).toBe(41);
    const incremental = pack().reduce((n, r) => n + r.bytesSent, 0);
    expect(incremental).toBeGreaterThan(0);
    expect(incremental).toBeLessThan(firstBytes / 5);
  });

  test('a second source on the same cache directory serves a known revision without downloading', async () => {
    await server.createRepo('shared-cache');
    await server.commitFiles('shared-cache', { 'a.yaml': 'a: 1\n' }, 'one');
    const dir = await cacheDir();
    const first = gitSource({ url: server.repoUrl('shared-cache'), ref: { branch: 'main' }, cacheDir: dir });
    const revision = await first.latestRevision();
    await first.fetch(revision);
    server.clearLog();
    const events: GitSourceEvent[] = [];
    const second = gitSource({ url: server.repoUrl('shared-cache'), ref: { branch: 'main' }, cacheDir: dir, onProgress: (e) => events.push(e) });
    const artifact = await second.fetch(revision);
    expect(await readAll(artifact.files)).toEqual({ 'a.yaml': 'a: 1\n' });
    expect(server.requests).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'fetched', cached: true }));
  });

  test('a force-push is followed: the new tip is fetched and the old files are gone', async () => {
    await server.createRepo('forced');
    await server.commitFiles('forced', { 'base.yaml': 'b: 1\n' }, 'base');
    await server.commitFiles('forced', { 'wrong.yaml': 'oops: true\n' }, 'mistake');
    const source = gitSource({ url: server.repoUrl('forced'), ref: { branch: 'main' }, cacheDir: await cacheDir() });
    expect(Object.keys(await readAll((await source.fetch()).files)).sort()).toEqual(['base.yaml', 'wrong.yaml']);
    const rewritten = await server.forcePush('forced', { 'right.yaml': 'ok: true\n' }, 'fixed');
    expect(await source.latestRevision()).toBe(`main@sha1:${rewritten}`);
    const artifact = await source.fetch();
    expect(await readAll(artifact.files)).toEqual({ 'base.yaml': 'b: 1\n', 'right.yaml': 'ok: true\n' });
  });

  test('a moved tag is followed to its new commit', async () => {
    await server.createRepo('tagmove');
    await server.commitFiles('tagmove', { 'v.yaml': 'v: 1\n' }, 'one');
    await server.tag('tagmove', 'stable');
    const source = gitSource({ url: server.repoUrl('tagmove'), ref: { tag: 'stable' }, cacheDir: await cacheDir() });
    expect(await readAll((await source.fetch()).files)).toEqual({ 'v.yaml': 'v: 1\n' });
    const c2 = await server.commitFiles('tagmove', { 'v.yaml': 'v: 2\n' }, 'two');
    await server.tag('tagmove', 'stable', { force: true });
    expect(await source.latestRevision()).toBe(`stable@sha1:${c2}`);
    expect(await readAll((await source.fetch()).files)).toEqual({ 'v.yaml': 'v: 2\n' });
  });

  test('an aborted fetch rejects with ABORTED', async () => {
    await server.createRepo('abort');
    await server.commitFiles('abort', { 'a.yaml': 'a: 1\n' }, 'one');
    const source = gitSource({ url: server.repoUrl('abort'), cacheDir: await cacheDir() });
    const controller = new AbortController();
    controller.abort();
    await expect(source.fetch(undefined, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('path and ignore', () => {
  beforeAll(async () => {
    await server.createRepo('filters');
    await server.commitFiles(
      'filters',
      {
        '.sourceignore': '/deploy/prod/secret-notes.md\n',
        'README.md': '# repo\n',
        'deploy/prod/app.yaml': 'env: prod\n',
        'deploy/prod/secret-notes.md': 'notes\n',
        'deploy/prod/tests/test.yaml': 'test: true\n',
        'deploy/prod/.sourceignore': 'drafts/\n',
        'deploy/prod/drafts/new.yaml': 'draft: true\n',
        'deploy/prod/kustomize/base.yaml': 'base: true\n',
        'deploy/staging/app.yaml': 'env: staging\n',
      },
      'layout',
    );
  });

  test('path limits the artifact to a folder and makes paths relative to it', async () => {
    const source = gitSource({ url: server.repoUrl('filters'), path: 'deploy/staging', cacheDir: await cacheDir() });
    const artifact = await source.fetch();
    expect(await artifact.files.list()).toEqual(['app.yaml']);
    expect(new TextDecoder().decode(await artifact.files.read('./app.yaml'))).toBe('env: staging\n');
    await expect(artifact.files.read('../prod/app.yaml')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  test('ignore patterns and .sourceignore files (root and in the folder) drop files', async () => {
    const source = gitSource({
      url: server.repoUrl('filters'),
      path: 'deploy/prod',
      ignore: ['tests/', '*.md'],
      cacheDir: await cacheDir(),
    });
    const artifact = await source.fetch();
    expect(await artifact.files.list()).toEqual(['.sourceignore', 'app.yaml', 'kustomize/base.yaml']);
    expect(await artifact.files.list('kustomize')).toEqual(['kustomize/base.yaml']);
  });

  test('the root .sourceignore applies to the whole repository', async () => {
    const source = gitSource({ url: server.repoUrl('filters'), cacheDir: await cacheDir() });
    const files = await (await source.fetch()).files.list();
    expect(files).not.toContain('deploy/prod/secret-notes.md');
    expect(files).not.toContain('deploy/prod/drafts/new.yaml');
    expect(files).toContain('README.md');
  });

  test('a path that does not exist at the revision is a clear error', async () => {
    const source = gitSource({ url: server.repoUrl('filters'), path: 'nope', cacheDir: await cacheDir() });
    await expect(source.fetch()).rejects.toThrow(/folder nope does not exist/);
  });
});

describe('errors', () => {
  test('an unreachable server is a retryable GIT_UNREACHABLE error', async () => {
    const down = await startGitServer();
    const url = down.repoUrl('gone');
    await down.close();
    const source = gitSource({ url, cacheDir: await cacheDir() });
    const error = await source.latestRevision().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConvergeError);
    expect(error).toMatchObject({ code: 'GIT_UNREACHABLE', retryable: true });
    await expect(source.fetch()).rejects.toMatchObject({ code: 'GIT_UNREACHABLE' });
  });

  test('a malformed revision is rejected before any network call', async () => {
    const source = gitSource({ url: server.repoUrl('refs'), cacheDir: await cacheDir() });
    await expect(source.fetch('main@abc')).rejects.toMatchObject({ code: 'GIT_INVALID_REVISION' });
  });

  test('conflicting ref kinds are refused at construction', () => {
    expect(() => gitSource({ url: server.repoUrl('refs'), ref: { branch: 'main', tag: 'v1' } })).toThrow(/one of/);
  });
});
