import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createReconciler, decodeInventory, PRUNE_ANNOTATION, yamlFiles, type KubeObject } from '@converge/core';
import { memorySource, sinkConformance } from '@converge/core/testing';
import { parse } from 'yaml';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { directorySink } from '../src/directory-sink.ts';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'directory-sink-'));
  temps.push(dir);
  return dir;
}
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

const configMap = (name: string, data: Record<string, string> = { v: '1' }): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data });

describe('directorySink passes the sink conformance suite', async () => {
  const dir = await tempDir();
  const checks = sinkConformance({
    namespace: 'conformance',
    makeSink: () => directorySink({ dir }),
    // A name that would write outside the folder must be refused, alone.
    invalidObject: configMap('../../escape'),
  });
  for (const check of checks) it(check.name, () => check.run());
});

describe('directorySink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });

  it('writes one YAML file per object, without resourceVersion, and the inventory as JSON', async () => {
    const sink = directorySink({ dir });
    const [ns, cm] = await sink.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, configMap('settings', { color: 'blue' })]);
    expect(ns?.ok && cm?.ok).toBe(true);
    const text = await readFile(join(dir, 'objects/shop/ConfigMap/settings.yaml'), 'utf8');
    expect(parse(text)).toEqual(configMap('settings', { color: 'blue' }));
    expect(existsSync(join(dir, 'objects/_cluster/Namespace/shop.yaml'))).toBe(true);

    await sink.writeInventory('shop', [{ group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'api' }]);
    const inventory = await readFile(join(dir, 'inventories/shop.json'), 'utf8');
    expect(decodeInventory(inventory)).toEqual([{ group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'api' }]);
    expect(JSON.parse(inventory)).toMatchObject({ version: 2 });
  });

  it('keeps resourceVersion while an object is unchanged, and a hand edit of its file changes it', async () => {
    const sink = directorySink({ dir });
    const first = await sink.apply([configMap('settings')]);
    const again = await sink.apply([configMap('settings')]);
    const version = (r: typeof first) => (r[0]?.ok ? r[0].object.metadata['resourceVersion'] : undefined);
    expect(version(again)).toBe(version(first));

    const file = join(dir, 'objects/shop/ConfigMap/settings.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('v: "1"', 'v: "edited"'));
    const [live] = await sink.get([{ group: '', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }]);
    expect(live?.['data']).toEqual({ v: 'edited' });
    expect(live?.metadata['resourceVersion']).not.toBe(version(first));
  });

  it('writes nothing on a dry run', async () => {
    const sink = directorySink({ dir });
    const [result] = await sink.apply([configMap('settings')], { dryRun: true });
    expect(result?.ok).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses names that would leave the folder and Secrets, object by object, without quoting values', async () => {
    const sink = directorySink({ dir: join(dir, 'out') });
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, stringData: { password: 'hunter2-hunter2' } };
    const [escape, refused, fine] = await sink.apply([configMap('..'), secret, configMap('ok')]);
    expect(escape).toMatchObject({ ok: false, error: { code: 'INVALID_NAME' } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'SECRET_REFUSED' } });
    expect(inspect(refused, { depth: 10 })).not.toContain('hunter2');
    expect(fine?.ok).toBe(true);
    expect(await readdir(dir)).toEqual(['out']);

    const [allowed] = await directorySink({ dir, allowSecrets: true }).apply([secret]);
    expect(allowed?.ok).toBe(true);
  });

  it('keeps a file it cannot read in the inventory: an unreadable file is a failed delete, not "not found"', async () => {
    const sink = directorySink({ dir });
    await sink.apply([configMap('settings')]);
    const file = join(dir, 'objects/shop/ConfigMap/settings.yaml');
    await rm(file);
    await mkdir(file); // a directory where the file should be: reading it fails with EISDIR
    const [result] = await sink.delete([{ group: '', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }]);
    expect(result).toMatchObject({ ok: false, error: { code: 'DELETE_FAILED', retryable: true } });
  });

  it('drives a reconciler: applies, reverts a hand edit, prunes what leaves the source and keeps what is protected', async () => {
    const source = memorySource({
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: shop }\ndata: { v: "1" }\n',
      'b.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b, namespace: shop, annotations: { ${PRUNE_ANNOTATION}: disabled } }\n`,
      'c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: shop }\n',
    });
    const r = createReconciler({ name: 'shop', source, render: yamlFiles(), sink: directorySink({ dir }), prune: true });
    expect((await r.reconcile()).counts.created).toBe(3);
    const file = (name: string) => join(dir, 'objects/shop/ConfigMap', `${name}.yaml`);
    expect(parse(await readFile(file('a'), 'utf8')).metadata.annotations).toEqual({ 'converge.dev/owner': 'shop' });

    await writeFile(file('a'), (await readFile(file('a'), 'utf8')).replace('v: "1"', 'v: "by hand"'));
    expect(await r.reconcile()).toMatchObject({ status: 'succeeded', counts: { updated: 1 } });
    expect(parse(await readFile(file('a'), 'utf8')).data).toEqual({ v: '1' });

    source.remove('b.yaml');
    source.remove('c.yaml');
    expect(await r.reconcile()).toMatchObject({ status: 'succeeded', counts: { deleted: 1 } });
    expect([existsSync(file('b')), existsSync(file('c'))]).toEqual([true, false]);
    expect(decodeInventory(await readFile(join(dir, 'inventories/shop.json'), 'utf8')).map((ref) => ref.name)).toEqual(['a']);
  });
});
