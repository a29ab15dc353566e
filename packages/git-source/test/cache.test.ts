import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gitSource, type GitSourceEvent } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

let server: GitServer;
let work: { path: string; remove: () => Promise<void> };
let files: Record<string, string>;

beforeAll(async () => {
  server = await startGitServer();
  work = await tempDir();
  await server.createRepo('big');
  files = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`manifests/cm-${i}.yaml`, `index: ${i}\ndata: ${'x'.repeat(500 + i)}\n`]));
  await server.commitFiles('big', files, 'many files');
});
afterAll(async () => {
  await server.close();
  await work.remove();
});

test('a fetch killed half-way leaves a cache that is detected and rebuilt, never served', async () => {
  const child = join(work.path, 'fetch-child.cjs');
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures/fetch-child.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: child, logLevel: 'error' });
  const cacheDir = join(work.path, 'killed');
  const proc = spawn(process.execPath, [child, server.repoUrl('big'), cacheDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('FROZEN')) resolve();
      if (d.toString().includes('DONE')) reject(new Error('the child finished before it could be killed'));
    });
    proc.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));

  // What a killed fetch leaves behind: the lock of a dead process, a pack without its index.
  expect(existsSync(join(cacheDir, 'converge-fetch.lock'))).toBe(true);
  const packs = readdirSync(join(cacheDir, 'objects/pack'));
  expect(packs.some((f) => f.endsWith('.pack'))).toBe(true);
  expect(packs.some((f) => f.endsWith('.idx'))).toBe(false);

  const events: GitSourceEvent[] = [];
  const source = gitSource({ url: server.repoUrl('big'), cacheDir, onProgress: (e) => events.push(e) });
  const artifact = await source.fetch();
  expect(await readAll(artifact.files)).toEqual(files);
  expect(events).toContainEqual(expect.objectContaining({ type: 'cache-rebuilt', reason: 'interrupted' }));
  expect(existsSync(join(cacheDir, 'converge-fetch.lock'))).toBe(false);
});

test('a damaged pack file is detected on the next fetch and the cache is rebuilt', async () => {
  const cacheDir = join(work.path, 'damaged');
  const first = gitSource({ url: server.repoUrl('big'), cacheDir });
  const revision = await first.latestRevision();
  await first.fetch(revision);
  const pack = readdirSync(join(cacheDir, 'objects/pack')).find((f) => f.endsWith('.pack'))!;
  await truncate(join(cacheDir, 'objects/pack', pack), 100);

  const events: GitSourceEvent[] = [];
  const second = gitSource({ url: server.repoUrl('big'), cacheDir, onProgress: (e) => events.push(e) });
  const artifact = await second.fetch(revision);
  expect(await readAll(artifact.files)).toEqual(files);
  expect(events).toContainEqual(expect.objectContaining({ type: 'cache-rebuilt', reason: 'corrupt' }));
});

test('a cache directory used for another URL is rebuilt rather than mixed', async () => {
  await server.createRepo('other');
  await server.commitFiles('other', { 'other.yaml': 'o: 1\n' }, 'other');
  const cacheDir = join(work.path, 'foreign');
  await gitSource({ url: server.repoUrl('big'), cacheDir }).fetch();
  const events: GitSourceEvent[] = [];
  const other = gitSource({ url: server.repoUrl('other'), cacheDir, onProgress: (e) => events.push(e) });
  expect(await readAll((await other.fetch()).files)).toEqual({ 'other.yaml': 'o: 1\n' });
  expect(events).toContainEqual(expect.objectContaining({ type: 'cache-rebuilt', reason: 'foreign' }));
});
