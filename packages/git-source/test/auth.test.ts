import { afterAll, beforeAll, expect, test } from 'vitest';
import { gitSource } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

const PASSWORD = 's3cr3t-Pa55word';
const TOKEN = 'tok_9f8e7d6c5b4a';
let server: GitServer;
let cache: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  server = await startGitServer({ auth: { username: 'deployer', password: PASSWORD, token: TOKEN } });
  await server.createRepo('private');
  await server.commitFiles('private', { 'app.yaml': 'private: true\n' }, 'one');
  cache = await tempDir();
});
afterAll(async () => {
  await server.close();
  await cache.remove();
});

function leaks(error: unknown): boolean {
  const e = error as Error & { data?: unknown };
  const text = `${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e.data ?? {})}`;
  return [PASSWORD, TOKEN, encodeURIComponent(PASSWORD), Buffer.from(`deployer:wrong-${PASSWORD}`).toString('base64')].some((s) =>
    text.includes(s),
  );
}

test('basic auth with username and password fetches a private repository', async () => {
  const source = gitSource({ url: server.repoUrl('private'), auth: { username: 'deployer', password: PASSWORD }, cacheDir: `${cache.path}/basic` });
  expect(await readAll((await source.fetch()).files)).toEqual({ 'app.yaml': 'private: true\n' });
  expect(server.requests.filter((r) => r.status === 200).every((r) => r.user === 'deployer')).toBe(true);
});

test('a token works as the basic-auth password and as a bearer header', async () => {
  const asPassword = gitSource({ url: server.repoUrl('private'), auth: { token: TOKEN }, cacheDir: `${cache.path}/tok` });
  await expect(asPassword.latestRevision()).resolves.toMatch(/^main@sha1:/);
  const bearer = gitSource({ url: server.repoUrl('private'), auth: { token: TOKEN, tokenType: 'bearer' }, cacheDir: `${cache.path}/bearer` });
  expect(await readAll((await bearer.fetch()).files)).toEqual({ 'app.yaml': 'private: true\n' });
});

test('no credentials is GIT_AUTH_FAILED with a message that says what to do', async () => {
  const source = gitSource({ url: server.repoUrl('private'), cacheDir: `${cache.path}/none` });
  await expect(source.latestRevision()).rejects.toMatchObject({
    code: 'GIT_AUTH_FAILED',
    message: expect.stringMatching(/HTTP 401.*check the username and password or token/),
  });
});

test('a wrong password is GIT_AUTH_FAILED and the error never contains the credential', async () => {
  const wrong = `wrong-${PASSWORD}`;
  const source = gitSource({ url: server.repoUrl('private'), auth: { username: 'deployer', password: wrong }, cacheDir: `${cache.path}/wrong` });
  for (const call of [() => source.latestRevision(), () => source.fetch()]) {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'GIT_AUTH_FAILED', retryable: false });
    expect(leaks(error)).toBe(false);
    expect((error as Error).message).not.toContain(wrong);
  }
});

test('credentials in the URL are used, and stripped from the id, revisions and errors', async () => {
  const url = server.repoUrl('private', { username: 'deployer', password: PASSWORD });
  expect(url).toContain(PASSWORD);
  const source = gitSource({ url, cacheDir: `${cache.path}/inurl` });
  expect(source.id).not.toContain(PASSWORD);
  expect(source.id).not.toContain('deployer@');
  const artifact = await source.fetch();
  expect(artifact.revision).not.toContain(PASSWORD);
  expect(artifact.source).toBe(source.id);

  const wrongUrl = server.repoUrl('private', { username: 'deployer', password: `wrong-${PASSWORD}` });
  const failing = gitSource({ url: wrongUrl, cacheDir: `${cache.path}/inurl-wrong` });
  const error = await failing.latestRevision().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: 'GIT_AUTH_FAILED' });
  expect(leaks(error)).toBe(false);
  expect((error as Error).message).toContain(server.repoUrl('private'));
});
