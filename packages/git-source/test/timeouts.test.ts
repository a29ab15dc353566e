import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { HttpClient } from 'isomorphic-git';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { GitTimeoutError, gitSource, gitWriter } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';
import { startFullBacklogListener } from './full-backlog-listener.js';
import { startSilentTcpServer, type SilentTcpServer } from './silent-tcp-server.js';

let git: GitServer;
let silent: SilentTcpServer;
let work: { path: string; remove: () => Promise<void> };
let n = 0;
const cacheDir = (): string => join(work.path, `cache-${n++}`);
const someCommit = `main@sha1:${'a'.repeat(40)}`;

beforeAll(async () => {
  git = await startGitServer();
  silent = await startSilentTcpServer();
  work = await tempDir();
  await git.createRepo('app');
  await git.commitFiles('app', { 'app.yaml': 'replicas: 1\n' }, 'one');
});
afterAll(async () => {
  await silent.close();
  await git.close();
  await work.remove();
});

/** Runs `fn`, expecting a rejection; returns it and how long it took. */
async function timed(fn: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

test('latestRevision() against a server that accepts and never answers fails with GIT_TIMEOUT after responseTimeoutMs', async () => {
  const source = gitSource({ url: `${silent.url}/app.git`, cacheDir: cacheDir(), responseTimeoutMs: 300 });
  const { error, ms } = await timed(() => source.latestRevision());
  expect(error).toBeInstanceOf(GitTimeoutError);
  expect(error).toMatchObject({
    code: 'GIT_TIMEOUT',
    retryable: true,
    data: { phase: 'response', timeoutMs: 300, url: expect.stringContaining(`${silent.url}/app.git/info/refs`) },
    message: expect.stringMatching(new RegExp(`GET ${silent.url}/app\\.git/info/refs.*within 300 ms \\(responseTimeoutMs\\)`)),
  });
  expect(ms).toBeGreaterThanOrEqual(290);
  expect(ms).toBeLessThan(2_000);
  // The client closed its connection: nothing is left open on the server.
  await silent.drained(1_000);
});

test('a connection that is never accepted fails with a connect GIT_TIMEOUT after connectTimeoutMs', async () => {
  const listener = await startFullBacklogListener();
  try {
    const source = gitSource({ url: `${listener.url}/app.git`, cacheDir: cacheDir(), connectTimeoutMs: 300 });
    const { error, ms } = await timed(() => source.latestRevision());
    expect(error).toMatchObject({
      code: 'GIT_TIMEOUT',
      retryable: true,
      data: { phase: 'connect', timeoutMs: 300 },
      message: expect.stringMatching(/could not open a connection for GET .* within 300 ms \(connectTimeoutMs\)/),
    });
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2_000);
  } finally {
    await listener.close();
  }
});

test('fetch() against a server that accepts and never answers fails with GIT_TIMEOUT', async () => {
  const source = gitSource({ url: `${silent.url}/app.git`, cacheDir: cacheDir(), responseTimeoutMs: 300 });
  const { error, ms } = await timed(() => source.fetch(someCommit));
  expect(error).toMatchObject({ code: 'GIT_TIMEOUT', retryable: true, data: { phase: 'response' } });
  expect(ms).toBeLessThan(2_000);
  await silent.drained(1_000);
});

test('a proxy that never answers CONNECT fails with GIT_TIMEOUT naming the proxy, not the server', async () => {
  const source = gitSource({ url: 'https://git.invalid/app.git', proxy: silent.url, cacheDir: cacheDir(), responseTimeoutMs: 300 });
  const { error, ms } = await timed(() => source.latestRevision());
  expect(error).toMatchObject({ code: 'GIT_TIMEOUT', data: { phase: 'response', url: `${silent.url}/git.invalid:443` } });
  expect((error as Error).message).toContain(`CONNECT ${silent.url}/git.invalid:443`);
  expect(ms).toBeLessThan(2_000);
  await silent.drained(1_000);
});

test('a response that sends headers and then stalls its body fails with an idle GIT_TIMEOUT (latestRevision)', async () => {
  const resume = git.stall({ mode: 'body', match: (r) => r.method === 'GET' });
  try {
    const source = gitSource({ url: git.repoUrl('app'), cacheDir: cacheDir(), idleTimeoutMs: 300 });
    const { error, ms } = await timed(() => source.latestRevision());
    expect(error).toMatchObject({
      code: 'GIT_TIMEOUT',
      data: { phase: 'idle', timeoutMs: 300 },
      message: expect.stringMatching(/stalled \(no data\) within 300 ms \(idleTimeoutMs\)/),
    });
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2_000);
  } finally {
    resume();
  }
});

test('a pack download that stalls half-way fails fetch() with an idle GIT_TIMEOUT, and the next fetch succeeds', async () => {
  const dir = cacheDir();
  const source = gitSource({ url: git.repoUrl('app'), cacheDir: dir, idleTimeoutMs: 300 });
  const revision = await source.latestRevision();
  const resume = git.stall({ mode: 'body', afterBytes: 20, match: (r) => r.method === 'POST' && r.command !== 'ls-refs' });
  const { error, ms } = await timed(() => source.fetch(revision));
  resume();
  expect(error).toMatchObject({ code: 'GIT_TIMEOUT', retryable: true, data: { phase: 'idle' } });
  expect(ms).toBeLessThan(2_000);
  expect(await readAll((await source.fetch(revision)).files)).toEqual({ 'app.yaml': 'replicas: 1\n' });
});

test('a push the server never answers fails the writer with GIT_TIMEOUT instead of hanging', async () => {
  await git.createRepo('write');
  await git.commitFiles('write', { 'app.yaml': 'tag: v1\n' }, 'one');
  const resume = git.stall({ mode: 'silent', match: (r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack') });
  try {
    const writer = gitWriter({ url: git.repoUrl('write'), cacheDir: cacheDir(), responseTimeoutMs: 400, maxAttempts: 1 });
    const { error, ms } = await timed(() => writer.update({ message: 'bump', change: (f) => f.write('app.yaml', 'tag: v2\n') }));
    expect(error).toMatchObject({ code: 'GIT_TIMEOUT', data: { phase: 'response', url: expect.stringContaining('git-receive-pack') } });
    expect(ms).toBeLessThan(3_000);
  } finally {
    resume();
  }
});

test('an aborted signal ends latestRevision() and fetch() against a silent server at once with ABORTED', async () => {
  const source = gitSource({ url: `${silent.url}/app.git`, cacheDir: cacheDir() });
  for (const call of [(signal: AbortSignal) => source.latestRevision({ signal }), (signal: AbortSignal) => source.fetch(someCommit, { signal })]) {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const { error, ms } = await timed(() => call(controller.signal));
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(ms).toBeLessThan(1_000);
  }
  await silent.drained(1_000);
});

test('a fetch waiting for the cache lock held by a hanging fetch ends when its signal aborts', async () => {
  const dir = cacheDir();
  const first = new AbortController();
  const hanging = gitSource({ url: `${silent.url}/app.git`, cacheDir: dir }).fetch(someCommit, { signal: first.signal });
  hanging.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 100));
  const second = new AbortController();
  setTimeout(() => second.abort(), 100);
  const { error, ms } = await timed(() => gitSource({ url: `${silent.url}/app.git`, cacheDir: dir }).fetch(someCommit, { signal: second.signal }));
  expect(error).toMatchObject({ code: 'ABORTED' });
  expect(ms).toBeLessThan(1_000);
  first.abort();
  await expect(hanging).rejects.toMatchObject({ code: 'ABORTED' });
});

test('an aborted signal ends the call even with a caller-supplied transport that ignores it', async () => {
  const neverAnswers: HttpClient = { request: () => new Promise(() => undefined) };
  const source = gitSource({ url: `${silent.url}/app.git`, cacheDir: cacheDir(), http: neverAnswers });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const { error, ms } = await timed(() => source.latestRevision({ signal: controller.signal }));
  expect(error).toMatchObject({ code: 'ABORTED' });
  expect(ms).toBeLessThan(1_000);
});

test('a process whose calls timed out against a silent server exits on its own: no socket or timer is left', async () => {
  const child = join(work.path, 'hang-child.cjs');
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures/hang-child.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: child, logLevel: 'error' });
  const started = performance.now();
  const proc = spawn(process.execPath, [child, `${silent.url}/app.git`, cacheDir()], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = await new Promise<number | null | 'hung'>((resolve) => {
    // Any leaked default deadline (10 s / 30 s) or open socket would keep the child past this.
    const guard = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve('hung');
    }, 5_000);
    proc.on('exit', (code) => {
      clearTimeout(guard);
      resolve(code);
    });
  });
  expect(exited).toBe(0);
  expect(out.trim().split('\n')).toEqual(['GIT_TIMEOUT', 'GIT_TIMEOUT']);
  expect(performance.now() - started).toBeLessThan(5_000);
});
