import { readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gitSource, type GitSourceEvent } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

let server: GitServer;
let work: { path: string; remove: () => Promise<void> };
let files: Record<string, string>;
let n = 0;

beforeAll(async () => {
  server = await startGitServer();
  work = await tempDir();
  await server.createRepo('app');
  files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`manifests/cm-${i}.yaml`, `index: ${i}\ndata: ${'y'.repeat(300 + i)}\n`]));
  await server.commitFiles('app', files, 'many files');
});
afterAll(async () => {
  await server.close();
  await work.remove();
});

const pack = (dir: string, ext: '.pack' | '.idx'): string => {
  const name = readdirSync(join(dir, 'objects/pack')).find((f) => f.endsWith(ext));
  if (!name) throw new Error(`no ${ext} in ${dir}`);
  return join(dir, 'objects/pack', name);
};

/** Ways a cache directory gets damaged on disk, and what the rebuild event should say. */
const damages: { name: string; damage: (dir: string) => Promise<void>; detail: RegExp }[] = [
  { name: 'garbage config', damage: (d) => writeFile(join(d, 'config'), '\u0000\u0001 garbage ]]] \n[[['), detail: /config line 1 is not valid git config/ },
  { name: 'config without its remote', damage: (d) => writeFile(join(d, 'config'), '[core]\n\tbare = true\n'), detail: /config has lost the remote/ },
  { name: 'missing HEAD', damage: (d) => rm(join(d, 'HEAD')), detail: /HEAD is missing/ },
  { name: 'garbage HEAD', damage: (d) => writeFile(join(d, 'HEAD'), 'not a ref\n'), detail: /HEAD is neither/ },
  {
    name: 'truncated pack',
    damage: async (d) => {
      const p = pack(d, '.pack');
      const bytes = await readFile(p);
      await writeFile(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    },
    detail: /truncated or does not match its index/,
  },
  {
    name: 'a flipped byte inside the pack',
    damage: async (d) => {
      const p = pack(d, '.pack');
      const bytes = await readFile(p);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0xff;
      await writeFile(p, bytes);
    },
    detail: /fails its checksum/,
  },
  { name: 'garbage pack index', damage: (d) => writeFile(pack(d, '.idx'), 'garbage'), detail: /not a version-2 pack index/ },
  { name: 'pack without its index', damage: (d) => rm(pack(d, '.idx')), detail: /has no index/ },
  {
    name: 'a ref pointing at a missing object',
    damage: (d) => writeFile(join(d, 'refs/converge/last'), `${'b'.repeat(40)}\n`),
    detail: /refs\/converge\/last points at b{40}, which is missing/,
  },
  { name: 'garbage shallow file', damage: (d) => writeFile(join(d, 'shallow'), 'zzz\n'), detail: /shallow/ },
  { name: 'a half-initialised directory (no metadata)', damage: (d) => rm(join(d, 'converge-cache.json')), detail: /never fully initialised/ },
];

test.each(damages)('a cache with $name is discarded, rebuilt from the remote, and the fetch serves correct content', async ({ damage, detail }) => {
  const cacheDir = join(work.path, `c${n++}`);
  const revision = await gitSource({ url: server.repoUrl('app'), cacheDir }).latestRevision();
  await gitSource({ url: server.repoUrl('app'), cacheDir }).fetch(revision);
  await damage(cacheDir);

  const events: GitSourceEvent[] = [];
  const source = gitSource({ url: server.repoUrl('app'), cacheDir, onProgress: (e) => events.push(e) });
  server.clearLog();
  const artifact = await source.fetch(revision);
  expect(await readAll(artifact.files)).toEqual(files);
  expect(events).toContainEqual({ type: 'cache-rebuilt', reason: 'corrupt', detail: expect.stringMatching(detail), cacheDir });
  // Rebuilt means downloaded again, not patched up from what was left.
  expect(server.requests.some((r) => r.packSent)).toBe(true);

  // The rebuilt cache is healthy: the next fetch is served from it without a rebuild.
  events.length = 0;
  expect(await readAll((await source.fetch(revision)).files)).toEqual(files);
  expect(events.filter((e) => e.type === 'cache-rebuilt')).toEqual([]);
});

test('a corrupt cache whose remote is unreachable fails with GIT_UNREACHABLE instead of serving what it holds', async () => {
  const own = await startGitServer();
  await own.createRepo('gone');
  await own.commitFiles('gone', { 'a.yaml': 'a: 1\n' }, 'one');
  const cacheDir = join(work.path, 'unreachable');
  const url = own.repoUrl('gone');
  const revision = await gitSource({ url, cacheDir }).latestRevision();
  await gitSource({ url, cacheDir }).fetch(revision);
  await own.close();
  await writeFile(join(cacheDir, 'config'), 'garbage\n');

  const events: GitSourceEvent[] = [];
  const source = gitSource({ url, cacheDir, onProgress: (e) => events.push(e) });
  await expect(source.fetch(revision)).rejects.toMatchObject({ code: 'GIT_UNREACHABLE', retryable: true, message: expect.stringContaining(url) });
  expect(events).toContainEqual(expect.objectContaining({ type: 'cache-rebuilt', reason: 'corrupt' }));
  expect(events.filter((e) => e.type === 'fetched')).toEqual([]);
});

test('a blob damaged after an earlier check is found before the artifact is served, and the cache is rebuilt', async () => {
  // A loose object (as the writer leaves them) that no ref points at directly: only reading
  // the artifact's objects finds it.
  const cacheDir = join(work.path, 'loose');
  const source = gitSource({ url: server.repoUrl('app'), cacheDir });
  const revision = await source.latestRevision();
  await source.fetch(revision);
  const oid = await server.git('app', ['rev-parse', 'main:manifests/cm-7.yaml']);
  await mkdir(join(cacheDir, 'objects', oid.slice(0, 2)), { recursive: true });
  const loose = join(cacheDir, 'objects', oid.slice(0, 2), oid.slice(2));
  // Loose objects are read before packs: a bad one shadows the good packed copy.
  await writeFile(loose, Buffer.from([0x78, 0x9c, 0x01, 0x02, 0x03]));

  const events: GitSourceEvent[] = [];
  const fresh = gitSource({ url: server.repoUrl('app'), cacheDir, onProgress: (e) => events.push(e) });
  expect(await readAll((await fresh.fetch(revision)).files)).toEqual(files);
  expect(events).toContainEqual(expect.objectContaining({ type: 'cache-rebuilt', reason: 'corrupt', detail: expect.stringMatching(/reading .* failed/) }));
});
