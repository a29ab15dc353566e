import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReconciler, yamlFiles, type Artifact } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import type { Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE } from '../src/artifact-media-types.js';
import { ociSource } from '../src/oci-source.js';
import { pushArtifact } from '../src/push-artifact.js';
import { RegistryClient } from '../src/registry-client.js';
import { startRegistry, type TestRegistry } from '../src/testing/registry-server.js';
import { tarLayer as tarGz } from './support/tar-layer.js';

const configMap = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: demo\ndata:\n  value: "${value}"\n`;

async function filesOf(artifact: Artifact): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of await artifact.files.list()) out[path] = Buffer.from(await artifact.files.read(path)).toString('utf8');
  return out;
}

/** Pushes a Flux-format artifact whose layer is `layer`, tagged. */
async function pushLayer(registry: TestRegistry, repository: string, tag: string, layer: Uint8Array, mediaType = FLUX_CONTENT_MEDIA_TYPE): Promise<string> {
  const client = new RegistryClient({ registry: registry.host, insecure: true });
  const config = await client.pushBlob(repository, Buffer.from('{}'));
  const blob = await client.pushBlob(repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: FLUX_CONFIG_MEDIA_TYPE, digest: config.digest, size: config.size },
    layers: [{ mediaType, digest: blob.digest, size: blob.size }],
  };
  return client.pushManifest(repository, tag, manifest.mediaType, Buffer.from(JSON.stringify(manifest)));
}

describe('ociSource and pushArtifact on a real registry', () => {
  let registry: TestRegistry;
  let dir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'converge-oci-src-'));
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a folder: latestRevision is one HEAD, fetch returns the same files', async () => {
    const folder = join(dir, 'round-trip');
    mkdirSync(join(folder, 'apps'), { recursive: true });
    writeFileSync(join(folder, 'apps', 'web.yaml'), configMap('web', 'v1'));
    writeFileSync(join(folder, 'README.md'), '# deploy\n');
    const pushed = await pushArtifact({ url: `oci://${registry.host}/acme/deploy:main`, dir: folder, insecure: true, source: 'https://git.example/acme', revision: 'main@sha1:abc' });
    expect(pushed.revision).toBe(`main@${pushed.digest}`);

    const requests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    const source = ociSource({ url: `oci://${registry.host}/acme/deploy`, ref: { tag: 'main' }, insecure: true, fetch: counting });
    await expect(source.latestRevision()).resolves.toBe(pushed.revision);
    expect(requests).toEqual(['HEAD /v2/acme/deploy/manifests/main']);

    const artifact = await source.fetch(pushed.revision);
    expect(artifact.revision).toBe(pushed.revision);
    expect(await filesOf(artifact)).toEqual({ 'README.md': '# deploy\n', 'apps/web.yaml': configMap('web', 'v1') });
  });

  it('packs reproducibly: the same files give the same layer, and the registry is not sent it twice', async () => {
    const files = { 'a.yaml': configMap('a', '1') };
    const { memoryFileTree } = await import('@converge/core');
    const first = await pushArtifact({ url: `oci://${registry.host}/acme/repro:one`, files: memoryFileTree(files), insecure: true, created: new Date(0) });
    const second = await pushArtifact({ url: `oci://${registry.host}/acme/repro:two`, files: memoryFileTree(files), insecure: true, created: new Date(0) });
    expect(second.digest).toBe(first.digest);
  });

  it('fetches the revision it was given, even after the tag moved', async () => {
    const url = `oci://${registry.host}/acme/moving`;
    const { memoryFileTree } = await import('@converge/core');
    const v1 = await pushArtifact({ url: `${url}:stable`, files: memoryFileTree({ 'cm.yaml': configMap('cm', 'one') }), insecure: true });
    const v2 = await pushArtifact({ url: `${url}:stable`, files: memoryFileTree({ 'cm.yaml': configMap('cm', 'two') }), insecure: true });
    const source = ociSource({ url, ref: { tag: 'stable' }, insecure: true });
    await expect(source.latestRevision()).resolves.toBe(v2.revision);
    expect(await filesOf(await source.fetch(v1.revision))).toEqual({ 'cm.yaml': configMap('cm', 'one') });
  });

  it('follows the newest tag in a semver range, and a digest', async () => {
    const url = `oci://${registry.host}/acme/versions`;
    const { memoryFileTree } = await import('@converge/core');
    const pushed: Record<string, string> = {};
    for (const tag of ['v1.0.0', 'v1.2.0', 'v2.0.0', 'latest']) {
      pushed[tag] = (await pushArtifact({ url: `${url}:${tag}`, files: memoryFileTree({ 'v.txt': tag }), insecure: true })).digest;
    }
    await expect(ociSource({ url, ref: { semver: '^1.0.0' }, insecure: true }).latestRevision()).resolves.toBe(`v1.2.0@${pushed['v1.2.0']}`);
    await expect(ociSource({ url, ref: { semver: '>=3' }, insecure: true }).latestRevision()).rejects.toMatchObject({ code: 'OCI_NO_MATCHING_TAG' });
    const byDigest = ociSource({ url, ref: { digest: pushed['v2.0.0']! }, insecure: true });
    await expect(byDigest.latestRevision()).resolves.toBe(pushed['v2.0.0']);
    expect(await filesOf(await byDigest.fetch())).toEqual({ 'v.txt': 'v2.0.0' });
  });

  it('reads a plain image with a single tar layer', async () => {
    await registry.push('acme/plain', 'v1', { seed: 'hello' });
    const artifact = await ociSource({ url: `oci://${registry.host}/acme/plain`, ref: { tag: 'v1' }, insecure: true }).fetch();
    expect(await filesOf(artifact)).toEqual({ 'seed-hello': 'hello' });
  });

  it('refuses a multi-platform index, naming what to do', async () => {
    await registry.pushIndex('acme/multi', 'v1');
    await expect(ociSource({ url: `oci://${registry.host}/acme/multi`, ref: { tag: 'v1' }, insecure: true }).fetch()).rejects.toMatchObject({
      code: 'OCI_UNSUPPORTED_ARTIFACT',
      message: expect.stringContaining('point at one manifest'),
    });
  });

  it('refuses layers that escape the artifact: ../ paths, absolute paths, links outside, devices', async () => {
    const cases: [string, Partial<Header>[], (string | undefined)[]][] = [
      ['dotdot', [{ name: '../../etc/cron.d/evil', size: 2 }], ['x\n']],
      ['absolute', [{ name: '/etc/passwd', size: 2 }], ['x\n']],
      ['symlink', [{ name: 'deploy/link.yaml', type: 'symlink', linkname: '../../../etc/shadow' }], [undefined]],
      ['hardlink', [{ name: 'deploy/link.yaml', type: 'link', linkname: '../outside' }], [undefined]],
      ['device', [{ name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 }], [undefined]],
    ];
    for (const [name, entries, contents] of cases) {
      await pushLayer(registry, `evil/${name}`, 'v1', await tarGz(entries, contents));
      const fetching = ociSource({ url: `oci://${registry.host}/evil/${name}`, ref: { tag: 'v1' }, insecure: true }).fetch();
      await expect(fetching, name).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
    }
  });

  it('resolves links inside the artifact to their target', async () => {
    const layer = await tarGz(
      [
        { name: 'base/cm.yaml', size: Buffer.byteLength(configMap('cm', 'x')) },
        { name: 'overlay/cm.yaml', type: 'symlink', linkname: '../base/cm.yaml' },
      ],
      [configMap('cm', 'x'), undefined],
    );
    await pushLayer(registry, 'acme/links', 'v1', layer);
    const files = await filesOf(await ociSource({ url: `oci://${registry.host}/acme/links`, ref: { tag: 'v1' }, insecure: true }).fetch());
    expect(files['overlay/cm.yaml']).toBe(configMap('cm', 'x'));
  });

  it('bounds what a layer may unpack to (a gzip bomb stops at the limit)', async () => {
    const bomb = await tarGz([{ name: 'zeros', size: 64 * 1024 * 1024 }], ['\0'.repeat(64 * 1024 * 1024)]);
    expect(bomb.byteLength).toBeLessThan(1024 * 1024);
    await pushLayer(registry, 'evil/bomb', 'v1', bomb);
    const source = ociSource({ url: `oci://${registry.host}/evil/bomb`, ref: { tag: 'v1' }, insecure: true, maxUnpackedBytes: 8 * 1024 * 1024 });
    await expect(source.fetch()).rejects.toMatchObject({ code: 'OCI_TOO_LARGE' });
    const small = ociSource({ url: `oci://${registry.host}/evil/bomb`, ref: { tag: 'v1' }, insecure: true, maxLayerBytes: 1024 });
    await expect(small.fetch()).rejects.toMatchObject({ code: 'OCI_TOO_LARGE', message: expect.stringContaining('maxLayerBytes') });
  });

  it('refuses to push objects carrying decrypted secret values', async () => {
    const { markSensitive } = await import('@converge/core');
    const secret = markSensitive({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'demo' }, stringData: { password: 'hunter2' } }, ['/stringData/password']);
    const error = await pushArtifact({ url: `oci://${registry.host}/acme/secrets:v1`, objects: [secret], insecure: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OCI_INVALID_OPTIONS' });
    expect(String((error as Error).message)).not.toContain('hunter2');
  });

  it('drives a reconciler; a failed fetch fails the pass and prunes nothing', async () => {
    const { memoryFileTree } = await import('@converge/core');
    const url = `oci://${registry.host}/acme/app`;
    const v1 = await pushArtifact({ url: `${url}:prod`, files: memoryFileTree({ 'a.yaml': configMap('a', '1'), 'b.yaml': configMap('b', '1') }), insecure: true });
    const sink = new MemorySink();
    const reconciler = createReconciler({ name: 'app', source: ociSource({ url, ref: { tag: 'prod' }, insecure: true }), render: yamlFiles(), sink, prune: true });
    const first = await reconciler.reconcile();
    expect(first).toMatchObject({ status: 'succeeded', revision: v1.revision, counts: { created: 2 } });

    // The tag now points at a layer that escapes: the pass fails, both objects stay.
    await pushLayer(registry, 'acme/app', 'prod', await tarGz([{ name: '../x', size: 1 }], ['x']));
    const second = await reconciler.reconcile();
    expect(second).toMatchObject({ status: 'failed', error: { code: 'OCI_UNSAFE_ARCHIVE' } });
    expect(sink.objects().map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    expect(reconciler.status().lastAppliedRevision).toBe(v1.revision);
  });
});

describe('ociSource with credentials', () => {
  const password = 'pa55-w0rd-for-oci';
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ basicAuth: { username: 'robot', password } });
  });
  afterAll(async () => registry?.stop());

  it('pushes and pulls with basic credentials, from options or a Docker config', async () => {
    const { memoryFileTree } = await import('@converge/core');
    const auth = { username: 'robot', password };
    const pushed = await pushArtifact({ url: `oci://${registry.host}/private/app:v1`, files: memoryFileTree({ 'x.yaml': 'x: 1\n' }), insecure: true, auth });
    await expect(ociSource({ url: `oci://${registry.host}/private/app`, ref: { tag: 'v1' }, insecure: true, auth }).latestRevision()).resolves.toBe(pushed.revision);
    const json = JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from(`robot:${password}`).toString('base64') } } });
    const fromConfig = ociSource({ url: `oci://${registry.host}/private/app`, ref: { tag: 'v1' }, insecure: true, auth: { dockerConfig: { json } } });
    expect(await filesOf(await fromConfig.fetch())).toEqual({ 'x.yaml': 'x: 1\n' });
  });

  it('reports refused and missing credentials as OCI_DENIED without the password', async () => {
    const wrong = await ociSource({ url: `oci://${registry.host}/private/app`, ref: { tag: 'v1' }, insecure: true, auth: { username: 'robot', password: 'nope-not-it' } })
      .latestRevision()
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'OCI_DENIED', message: expect.stringContaining('rejected the configured credentials') });
    expect(JSON.stringify({ m: (wrong as Error).message, d: (wrong as { data: unknown }).data })).not.toContain('nope-not-it');
    await expect(ociSource({ url: `oci://${registry.host}/private/app`, ref: { tag: 'v1' }, insecure: true }).latestRevision()).rejects.toMatchObject({
      code: 'OCI_DENIED',
      message: expect.stringContaining('none are configured'),
    });
  });
});
