import { afterAll, beforeAll, expect, test } from 'vitest';
import { gitSource, gitWriter, replaceImageTag, setYamlField } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { readAll, tempDir } from './helpers.js';

const TOKEN = 'writer-token-123';
let server: GitServer;
let cache: { path: string; remove: () => Promise<void> };

const deployment = `# the api, owned by team a
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api # do not rename
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: api
          image: "ghcr.io/acme/api:v1.0.0" # bumped by CI
        - name: worker
          image: ghcr.io/acme/api-worker:v1.0.0
`;

beforeAll(async () => {
  server = await startGitServer({ auth: { token: TOKEN } });
  cache = await tempDir();
});
afterAll(async () => {
  await server.close();
  await cache.remove();
});

test('an update commits the change and pushes it over HTTP as the given author', async () => {
  await server.createRepo('env');
  await server.commitFiles('env', { 'prod/api.yaml': deployment, 'README.md': 'env\n' }, 'init');
  const writer = gitWriter({
    url: server.repoUrl('env'),
    auth: { token: TOKEN },
    author: { name: 'Release Bot', email: 'bot@acme.invalid' },
    cacheDir: `${cache.path}/w1`,
  });
  const result = await writer.update({
    message: ({ changed, branch }) => `bump api on ${branch}: ${changed.join(', ')}`,
    change: (files) => files.update('prod/api.yaml', (t) => replaceImageTag(t, 'ghcr.io/acme/api', 'v1.1.0')),
  });
  expect(result).toMatchObject({ pushed: true, changed: ['prod/api.yaml'], attempts: 1 });
  expect(await server.revParse('env', 'main')).toBe(result.commit);
  expect(await server.git('env', ['log', '-1', '--format=%an <%ae>|%s', 'main'])).toBe('Release Bot <bot@acme.invalid>|bump api on main: prod/api.yaml');
  const text = await server.git('env', ['show', 'main:prod/api.yaml']);
  expect(text).toContain('image: "ghcr.io/acme/api:v1.1.0" # bumped by CI');
  expect(text).toContain('image: ghcr.io/acme/api-worker:v1.0.0');
  expect(await server.git('env', ['fsck', '--strict'])).toBe('');
});

test('a change that leaves the files as they are pushes nothing', async () => {
  const before = await server.revParse('env', 'main');
  const writer = gitWriter({ url: server.repoUrl('env'), auth: { token: TOKEN }, cacheDir: `${cache.path}/w2` });
  const result = await writer.update({
    message: 'noop',
    change: (files) => files.update('prod/api.yaml', (t) => replaceImageTag(t, 'ghcr.io/acme/api', 'v1.1.0')),
  });
  expect(result).toMatchObject({ pushed: false, commit: before, changed: [] });
  expect(await server.revParse('env', 'main')).toBe(before);
});

test('a concurrent push in between makes the writer refetch, re-apply and push again without losing the other commit', async () => {
  const writer = gitWriter({ url: server.repoUrl('env'), auth: { token: TOKEN }, cacheDir: `${cache.path}/w3`, sleep: async () => {} });
  let calls = 0;
  let concurrent = '';
  const result = await writer.update({
    message: 'scale api to 5',
    change: async (files) => {
      calls++;
      if (calls === 1) {
        // Someone else pushes after we read the tip and before we push.
        concurrent = await server.commitFiles('env', { 'prod/other.yaml': 'other: true\n' }, 'concurrent change');
      }
      await files.update('prod/api.yaml', (t) => setYamlField(t, 'spec.replicas', 5));
    },
  });
  expect(result.attempts).toBe(2);
  expect(calls).toBe(2);
  const log = (await server.git('env', ['log', '--format=%H %s', 'main'])).split('\n');
  expect(log[0]).toBe(`${result.commit} scale api to 5`);
  expect(log[1]).toBe(`${concurrent} concurrent change`);
  const source = gitSource({ url: server.repoUrl('env'), auth: { token: TOKEN }, cacheDir: `${cache.path}/read` });
  const files = await readAll((await source.fetch()).files);
  expect(files['prod/other.yaml']).toBe('other: true\n');
  expect(files['prod/api.yaml']).toContain('replicas: 5');
  expect(files['prod/api.yaml']).toContain('image: "ghcr.io/acme/api:v1.1.0" # bumped by CI');
});

test('a branch that never stops moving ends in GIT_PUSH_REJECTED after maxAttempts, never a force-push', async () => {
  const writer = gitWriter({ url: server.repoUrl('env'), auth: { token: TOKEN }, cacheDir: `${cache.path}/w4`, maxAttempts: 3, sleep: async () => {} });
  let n = 0;
  const error = await writer
    .update({
      message: 'never lands',
      change: async (files) => {
        await server.commitFiles('env', { [`race/${n++}.txt`]: 'x' }, `racer ${n}`);
        files.write('mine.txt', 'mine');
      },
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toMatchObject({ code: 'GIT_PUSH_REJECTED' });
  expect(n).toBe(3);
  expect(await server.git('env', ['log', '-1', '--format=%s', 'main'])).toBe('racer 3');
  expect(await server.git('env', ['ls-tree', '--name-only', 'main'])).not.toContain('mine.txt');
});

test('files can be added and deleted, including whole folders', async () => {
  const writer = gitWriter({ url: server.repoUrl('env'), auth: { token: TOKEN }, cacheDir: `${cache.path}/w5` });
  await writer.update({
    message: 'reshape',
    change: (files) => {
      for (const p of files.list('race')) files.delete(p);
      files.write('staging/api.yaml', 'kind: ConfigMap\n');
    },
  });
  const tree = (await server.git('env', ['ls-tree', '-r', '--name-only', 'main'])).split('\n');
  expect(tree).toContain('staging/api.yaml');
  expect(tree.some((p) => p.startsWith('race/'))).toBe(false);
  expect(await server.git('env', ['fsck', '--strict'])).toBe('');
});

test('setYamlField keeps comments, quoting and other documents', () => {
  const text = `${deployment}---\n# second\nkind: Service\nmetadata:\n  name: api\n`;
  const out = setYamlField(text, 'spec.replicas', 4, { match: (d) => d.kind === 'Deployment' });
  expect(out).toBe(text.replace('replicas: 2', 'replicas: 4'));
  const image = setYamlField(deployment, 'spec.template.spec.containers.0.image', 'ghcr.io/acme/api:v2');
  expect(image).toContain('image: "ghcr.io/acme/api:v2" # bumped by CI');
  expect(image).toContain('# the api, owned by team a');
  expect(setYamlField('a: 1\n', 'b.c', 'x')).toBe('a: 1\nb:\n  c: x\n');
});

test('replaceImageTag touches only the exact repository and drops a digest', () => {
  const text = 'image: ghcr.io/acme/api@sha256:' + 'a'.repeat(64) + '\nimage: ghcr.io/acme/api-worker:v1\n- image: ghcr.io/acme/api\n';
  expect(replaceImageTag(text, 'ghcr.io/acme/api', 'v2')).toBe('image: ghcr.io/acme/api:v2\nimage: ghcr.io/acme/api-worker:v1\n- image: ghcr.io/acme/api:v2\n');
  expect(() => replaceImageTag(text, 'x', 'bad tag')).toThrow(/not a valid image tag/);
});
