import { afterAll, beforeAll, expect, test } from 'vitest';
import { createReconciler, yamlFiles } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import { gitSource } from '../src/index.js';
import { startGitServer, type GitServer } from '../src/testing/index.js';
import { tempDir } from './helpers.js';

let server: GitServer;
let cache: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  server = await startGitServer();
  cache = await tempDir();
});
afterAll(async () => {
  await server.close();
  await cache.remove();
});

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: web\ndata:\n  value: "${value}"\n`;

test('a reconciler on gitSource + yamlFiles + MemorySink follows a branch through create, change and delete', async () => {
  await server.createRepo('cluster');
  await server.commitFiles(
    'cluster',
    {
      'apps/web/a.yaml': configMap('a', '1'),
      'apps/web/b.yaml': configMap('b', '1'),
      'apps/web/README.md': 'not a manifest\n',
      'other/ignored.yaml': configMap('elsewhere', '1'),
    },
    'create a and b',
  );
  const sink = new MemorySink();
  const reconciler = createReconciler({
    name: 'web',
    source: gitSource({ url: server.repoUrl('cluster'), ref: { branch: 'main' }, path: 'apps/web', cacheDir: cache.path }),
    render: yamlFiles(),
    sink,
    prune: true,
  });
  const names = () => sink.objects().map((o) => `${o.metadata.name}=${(o.data as { value: string }).value}`).sort();

  const first = await reconciler.reconcile();
  expect(first).toMatchObject({ status: 'succeeded', counts: { created: 2, updated: 0, deleted: 0 } });
  expect(first.revision).toBe(`main@sha1:${await server.revParse('cluster', 'main')}`);
  expect(names()).toEqual(['a=1', 'b=1']);

  server.clearLog();
  const idle = await reconciler.reconcile();
  expect(idle.status).not.toBe('failed');
  expect(idle.counts).toMatchObject({ created: 0, updated: 0, deleted: 0 });
  expect(server.requests.filter((r) => r.packSent)).toEqual([]);

  await server.commitFiles('cluster', { 'apps/web/a.yaml': configMap('a', '2') }, 'change a');
  const changed = await reconciler.reconcile();
  expect(changed).toMatchObject({ status: 'succeeded', counts: { updated: 1, created: 0, deleted: 0 } });
  expect(names()).toEqual(['a=2', 'b=1']);

  await server.deleteFiles('cluster', ['apps/web/b.yaml'], 'delete b');
  const deleted = await reconciler.reconcile();
  expect(deleted).toMatchObject({ status: 'succeeded', counts: { deleted: 1 } });
  expect(deleted.revision).toBe(`main@sha1:${await server.revParse('cluster', 'main')}`);
  expect(names()).toEqual(['a=2']);
});

test('when the server goes down the pass fails with a retryable error and nothing is pruned', async () => {
  const down = await startGitServer();
  await down.createRepo('flaky');
  await down.commitFiles('flaky', { 'a.yaml': configMap('a', '1') }, 'one');
  const dir = await tempDir();
  const sink = new MemorySink();
  const reconciler = createReconciler({
    name: 'flaky',
    source: gitSource({ url: down.repoUrl('flaky'), ref: { branch: 'main' }, cacheDir: dir.path }),
    render: yamlFiles(),
    sink,
    prune: true,
  });
  expect((await reconciler.reconcile()).status).toBe('succeeded');
  await down.close();
  const failed = await reconciler.reconcile();
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatchObject({ code: 'GIT_UNREACHABLE', retryable: true });
  expect(sink.objects()).toHaveLength(1);
  await dir.remove();
});
