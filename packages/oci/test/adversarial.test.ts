import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReconciler, yamlFiles } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FLUX_CONTENT_MEDIA_TYPE } from '../src/artifact-media-types.js';
import { verifyCosignSignature } from '../src/cosign-verify.js';
import { OciError } from '../src/oci-error.js';
import { ociSource } from '../src/oci-source.js';
import { parseOciUrl } from '../src/oci-url.js';
import { RegistryClient, sha256 } from '../src/registry-client.js';
import { startRegistry, type TestRegistry } from '../src/testing/registry-server.js';
import { unpackTar } from '../src/unpack-tar.js';
import { tarLayer as tarOf } from './support/tar-layer.js';

// Attacks by a hostile registry, a hostile artifact author and a bad day in production. Hostile
// registries are plain node servers (a real registry does not misbehave on purpose); artifacts
// go through the real registry where the registry itself is not the attacker.
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
});

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void, host = '127.0.0.1'): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
    handler(req, res, seen);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { host: `${host}:${(server.address() as { port: number }).port}`, seen };
}

const password = 's3cr3t-pa55word';
const credentials = { username: 'ci', password };
const basicHeader = `Basic ${Buffer.from(`ci:${password}`).toString('base64')}`;
const base64Secret = Buffer.from(`ci:${password}`).toString('base64');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Everything an error exposes to a log line or an event. */
function exposed(error: unknown): string {
  const e = error as OciError;
  return JSON.stringify({ message: e.message, data: e.data, cause: String(e.cause), causeMessage: (e.cause as Error | undefined)?.message });
}

function expectNoSecret(error: unknown): void {
  const text = exposed(error);
  expect(text).not.toContain(password.slice(0, 6));
  // Not even a piece of the base64 of user:password (a JSON parse error quotes ~10 characters).
  expect(text).not.toContain(base64Secret.slice(0, 8));
}

const unpack = (archive: Uint8Array) => unpackTar(archive, { what: 'the layer', maxBytes: 1024 * 1024, maxFiles: 1000 });

/**
 * A hostile registry serving one artifact: the manifest under its tag and digest, its blobs,
 * and whatever `override` answers first.
 */
async function artifactRegistry(
  manifest: Uint8Array,
  blobs: Record<string, Uint8Array>,
  override?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<{ host: string; seen: Seen[]; digest: string }> {
  const digest = sha256(manifest);
  const server = await serve((req, res) => {
    if (override?.(req, res)) return;
    const path = req.url!.split('?')[0]!;
    const m = /^\/v2\/acme\/app\/manifests\/(.+)$/.exec(path);
    if (m) {
      return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest }).end(req.method === 'HEAD' ? undefined : manifest);
    }
    const b = /^\/v2\/acme\/app\/blobs\/(.+)$/.exec(path);
    if (b && blobs[b[1]!]) return res.writeHead(200).end(blobs[b[1]!]);
    res.writeHead(404).end();
  });
  return { ...server, digest };
}

function fluxManifest(layer: Uint8Array, overrides: Record<string, unknown> = {}): Uint8Array {
  return json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.cncf.flux.config.v1+json', digest: sha256(Buffer.from('{}')), size: 2 },
    layers: [{ mediaType: FLUX_CONTENT_MEDIA_TYPE, digest: sha256(layer), size: layer.byteLength }],
    ...overrides,
  });
}

describe('credentials do not leak', () => {
  it('a token service that echoes the password in a body that is not JSON: typed error, no piece of the secret', async () => {
    const echo = (authorization = '') => Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString().split(':')[1];
    const realm = await serve((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`${echo(req.headers.authorization)} is not the password`));
    const registry = await serve((req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token",service="r"` }).end());
    const client = new RegistryClient({ registry: registry.host, insecure: true, insecureHosts: [realm.host], credentials });
    const error = await client.resolve('acme/app', 'v1').catch((e: unknown) => e);
    expect(realm.seen[0]!.authorization).toBe(basicHeader);
    expect(error).toBeInstanceOf(OciError);
    expectNoSecret(error);
    expect(error).toMatchObject({ code: 'OCI_REGISTRY_ERROR' });
    // Not mistaken for a network failure and retried.
    expect(realm.seen).toHaveLength(1);
  });

  it('a reconciler whose token service echoes the password: the failed pass and its events hold no piece of it', async () => {
    const realm = await serve((req, res) => res.writeHead(200).end(`${Buffer.from((req.headers.authorization ?? '').slice(6), 'base64').toString()} rejected`));
    const registry = await serve((req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token"` }).end());
    const events: unknown[] = [];
    const reconciler = createReconciler({
      name: 'leak',
      source: ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true, auth: credentials }),
      render: yamlFiles(),
      sink: new MemorySink(),
    });
    reconciler.on('*', (e) => events.push(e));
    // The realm is plain HTTP on the registry host's address but another port: it gets no credentials.
    const result = await reconciler.reconcile();
    expect(result).toMatchObject({ status: 'failed' });
    expect(realm.seen[0]!.authorization).toBeUndefined();
    const direct = await new RegistryClient({ registry: registry.host, insecure: true, insecureHosts: [realm.host], credentials }).resolve('acme/app', 'v1').catch((e: unknown) => e);
    expect(realm.seen[1]!.authorization).toBe(basicHeader);
    const text = JSON.stringify([events, result, exposed(direct)]);
    expect(text).not.toContain(password.slice(0, 6));
    expect(text).not.toContain(base64Secret.slice(0, 8));
  });

  it('a token realm on the insecure registry host but another port gets no credentials over plain HTTP', async () => {
    const realm = await serve((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon' })));
    const registry = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer anon') return res.writeHead(200, { 'docker-content-digest': sha256(Buffer.from('m')) }).end();
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token"` }).end();
    });
    await new RegistryClient({ registry: registry.host, insecure: true, credentials }).resolve('acme/app', 'v1');
    expect(realm.seen.map((s) => s.authorization)).toEqual([undefined]);
  });

  it('a token realm that redirects elsewhere is not followed', async () => {
    const elsewhere = await serve((req, res) => res.writeHead(200).end('{"token":"x"}'));
    const realm = await serve((req, res) => res.writeHead(302, { location: `http://${elsewhere.host}/steal` }).end());
    const registry = await serve((req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token"` }).end());
    const client = new RegistryClient({ registry: registry.host, insecure: true, insecureHosts: [realm.host], credentials, retries: 0 });
    const error = await client.resolve('acme/app', 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciError);
    expect(elsewhere.seen).toHaveLength(0);
    expectNoSecret(error);
  });

  it('a token realm with userinfo is refused and the message holds no secret', async () => {
    const registry = await serve((req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://evil:x@127.0.0.1:1/token"` }).end());
    const error = await new RegistryClient({ registry: registry.host, insecure: true, credentials, retries: 0 }).resolve('acme/app', 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciError);
    expectNoSecret(error);
  });

  it('a redirect to the same host on another port gets no Authorization header', async () => {
    const other = await serve((req, res) => res.writeHead(200).end('x'));
    const port = other.host.split(':')[1];
    const registry = await serve((req, res) => {
      if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(302, { location: `http://127.0.0.1:${port}/blob` }).end();
    });
    const error = await new RegistryClient({ registry: registry.host, insecure: true, credentials }).blob('acme/app', sha256(Buffer.from('x'))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OCI_REDIRECT_REFUSED' });
    expect(other.seen).toHaveLength(0);
  });

  it('a redirect chain that comes back to the registry host keeps the credentials only there', async () => {
    let registryHost = '';
    const hop = await serve((req, res) => res.writeHead(302, { location: `http://${registryHost}/final` }).end());
    const registry = await serve((req, res) => {
      if (req.url === '/final') return res.writeHead(200).end('x');
      if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(302, { location: `http://${hop.host}/hop` }).end();
    });
    registryHost = registry.host;
    // Plain HTTP to another host is refused outright.
    await expect(new RegistryClient({ registry: registry.host, insecure: true, credentials }).blob('acme/app', sha256(Buffer.from('x')))).rejects.toMatchObject({
      code: 'OCI_REDIRECT_REFUSED',
    });
    expect(hop.seen).toHaveLength(0);
  });

  it('a redirect Location with userinfo: typed error, no secret of ours', async () => {
    const registry = await serve((req, res) => {
      if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(302, { location: `http://u:p@${req.headers.host}/x` }).end();
    });
    const error = await new RegistryClient({ registry: registry.host, insecure: true, credentials, retries: 0 }).blob('acme/app', sha256(Buffer.from('x'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciError);
    expectNoSecret(error);
  });

  it('a registry echoing the Authorization header in its error body and headers: not in the error', async () => {
    const registry = await serve((req, res) => {
      if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(500, { 'x-echo': req.headers.authorization }).end(`bad ${req.headers.authorization}`);
    });
    const error = await new RegistryClient({ registry: registry.host, insecure: true, credentials, retries: 0 }).manifest('acme/app', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OCI_REGISTRY_ERROR' });
    expectNoSecret(error);
  });

  it('an oci:// URL with credentials in it is refused without repeating them', () => {
    for (const url of [`oci://ci:${password}@ghcr.io/acme/app`, `oci://ci:${password}@ghcr.io/acme/app:v1`]) {
      const error = (() => {
        try {
          return parseOciUrl(url);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toMatchObject({ code: 'OCI_INVALID_URL' });
      expect(exposed(error)).not.toContain(password);
    }
  });

  it('sends the credentials to a registry whose host is written in capitals, as its URL spells it', async () => {
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== basicHeader) return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(200, { 'docker-content-digest': sha256(Buffer.from('m')) }).end();
    });
    const upper = registry.host.replace('127.0.0.1', 'LOCALHOST');
    await expect(new RegistryClient({ registry: upper, insecure: true, credentials }).resolve('acme/app', 'v1')).resolves.toMatchObject({ digest: sha256(Buffer.from('m')) });
  });
});

describe('hostile archives', () => {
  it('refuses traversal spelled every way', async () => {
    for (const name of ['./../x', 'a/../../x', '../', 'a/b/../../../x', '/x', 'a\\..\\..\\x', `${'a/'.repeat(200)}${'../'.repeat(201)}x`]) {
      await expect(unpack(await tarOf([{ name, type: 'file' }], ['x'])), name).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
    }
  });

  it('refuses a PAX header that renames an entry or its link outside the artifact', async () => {
    await expect(unpack(await tarOf([{ name: 'ok.yaml', type: 'file', pax: { path: '../../etc/x' } }], ['x']))).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
    await expect(unpack(await tarOf([{ name: 'l', type: 'symlink', linkname: 'ok', pax: { linkpath: '../../etc/passwd' } }], [undefined]))).rejects.toMatchObject({
      code: 'OCI_UNSAFE_ARCHIVE',
    });
  });

  it('refuses a symlink to an absolute path, as it refuses an absolute entry', async () => {
    await expect(unpack(await tarOf([{ name: 'etc/passwd', type: 'file' }, { name: 'link', type: 'symlink', linkname: '/etc/passwd' }], ['inside', undefined]))).rejects.toMatchObject({
      code: 'OCI_UNSAFE_ARCHIVE',
    });
  });

  it('ends link loops and long chains without hanging', async () => {
    const files = await unpack(await tarOf([{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }], [undefined, undefined]));
    expect([...files.keys()]).toEqual([]);
  });

  it('a later entry replaces an earlier one of the same path, whatever their kinds', async () => {
    const linkThenFile = await unpack(
      await tarOf([{ name: 'target.yaml', type: 'file' }, { name: 'x.yaml', type: 'symlink', linkname: 'target.yaml' }, { name: 'x.yaml', type: 'file' }], ['target', undefined, 'later file']),
    );
    expect(Buffer.from(linkThenFile.get('x.yaml')!).toString()).toBe('later file');
    const fileThenLink = await unpack(
      await tarOf([{ name: 'target.yaml', type: 'file' }, { name: 'x.yaml', type: 'file' }, { name: 'x.yaml', type: 'symlink', linkname: 'target.yaml' }], ['target', 'earlier', undefined]),
    );
    expect(Buffer.from(fileThenLink.get('x.yaml')!).toString()).toBe('target');
  });

  it('a link to a folder adds nothing and fails nothing; the files of the folder stay where they are', async () => {
    const files = await unpack(await tarOf([{ name: 'dir/a.yaml', type: 'file' }, { name: 'alias', type: 'symlink', linkname: 'dir' }, { name: 'up', type: 'symlink', linkname: '.' }], ['a', undefined, undefined]));
    expect([...files.keys()]).toEqual(['dir/a.yaml']);
  });

  it('refuses FIFOs and devices', async () => {
    for (const type of ['fifo', 'character-device', 'block-device'] as const) {
      await expect(unpack(await tarOf([{ name: 'dev', type }], [undefined])), type).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
    }
  });

  it('bounds many tiny entries and zero-size entries', async () => {
    const entries = Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}`, type: 'file' as const }));
    await expect(unpack(await tarOf(entries, entries.map(() => '')))).rejects.toMatchObject({ code: 'OCI_TOO_LARGE' });
  });

  it('reads an uncompressed tar, and refuses a truncated gzip or tar as a typed error', async () => {
    const plain = await tarOf([{ name: 'a.yaml', type: 'file' }], ['a: 1'], { gzip: false });
    expect([...(await unpack(plain)).keys()]).toEqual(['a.yaml']);
    const gz = await tarOf([{ name: 'a.yaml', type: 'file' }], ['a'.repeat(5000)]);
    await expect(unpack(gz.subarray(0, gz.byteLength - 20))).rejects.toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
    const big = await tarOf([{ name: 'a.yaml', type: 'file' }], ['a'.repeat(5000)], { gzip: false });
    await expect(unpack(big.subarray(0, 2000))).rejects.toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
  });

  it("links: 'refuse' refuses a link inside the archive too, naming its path and type", async () => {
    const archive = await tarOf([{ name: 'a.yaml', type: 'file' }, { name: 'b.yaml', type: 'symlink', linkname: 'a.yaml' }], ['a: 1', undefined]);
    expect(Buffer.from((await unpack(archive)).get('b.yaml')!).toString()).toBe('a: 1');
    await expect(unpackTar(archive, { what: 'the chart', maxBytes: 1024, maxFiles: 10, links: 'refuse' })).rejects.toMatchObject({
      code: 'OCI_UNSAFE_ARCHIVE',
      data: { path: 'b.yaml', type: 'symlink' },
    });
  });

  it("compression: 'gzip' refuses a plain tar; backslashAsSeparator reads a\\b as a/b and still refuses ..\\", async () => {
    const plain = await tarOf([{ name: 'a.yaml', type: 'file' }], ['a: 1'], { gzip: false });
    await expect(unpackTar(plain, { what: 'the chart', maxBytes: 1024, maxFiles: 10, compression: 'gzip' })).rejects.toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
    const windows = await tarOf([{ name: 'chart\\templates\\a.yaml', type: 'file' }], ['a: 1']);
    await expect(unpack(windows)).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
    expect([...(await unpackTar(windows, { what: 'the chart', maxBytes: 1024, maxFiles: 10, backslashAsSeparator: true })).keys()]).toEqual(['chart/templates/a.yaml']);
    const escape = await tarOf([{ name: 'chart\\..\\..\\x', type: 'file' }], ['x']);
    await expect(unpackTar(escape, { what: 'the chart', maxBytes: 1024, maxFiles: 10, backslashAsSeparator: true })).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
  });
});

describe('hostile manifests', () => {
  const layerPromise = tarOf([{ name: 'a.yaml', type: 'file' }], ['a: 1']);

  it('a manifest whose layers are not a list, or hold null: OCI_UNSUPPORTED_ARTIFACT, not a TypeError', async () => {
    const layer = await layerPromise;
    for (const layers of ['abc', { 0: 1 }, [null], 7]) {
      const manifest = fluxManifest(layer, { layers });
      const registry = await artifactRegistry(manifest, { [sha256(layer)]: layer });
      const error = await ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true }).fetch().catch((e: unknown) => e);
      expect(error, JSON.stringify(layers)).toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
    }
  });

  it('a layer larger than its manifest says: OCI_TOO_LARGE, as documented', async () => {
    const layer = await layerPromise;
    const manifest = fluxManifest(layer, { layers: [{ mediaType: FLUX_CONTENT_MEDIA_TYPE, digest: sha256(layer), size: 10 }] });
    const registry = await artifactRegistry(manifest, { [sha256(layer)]: layer });
    await expect(ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true }).fetch()).rejects.toMatchObject({ code: 'OCI_TOO_LARGE' });
  });

  it('layer media types with control characters do not reach the message raw', async () => {
    const layer = await layerPromise;
    const manifest = fluxManifest(layer, { layers: [{ mediaType: 'x\n\u001b[2Kpass succeeded', digest: sha256(layer), size: layer.byteLength }, { mediaType: 'y', digest: sha256(layer), size: 1 }] });
    const registry = await artifactRegistry(manifest, {});
    const error = await ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true }).fetch().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
    expect((error as Error).message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('a manifest asked for by a sha512 digest is checked against it; an algorithm that cannot be checked is refused', async () => {
    const registry = await serve((req, res) => res.writeHead(200).end('{"schemaVersion":2}'));
    const client = new RegistryClient({ registry: registry.host, insecure: true });
    await expect(client.manifest('acme/app', `sha512:${'a'.repeat(128)}`)).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    await expect(client.manifest('acme/app', `blake3:${'a'.repeat(64)}`)).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    const sha512 = `sha512:${createHash('sha512').update('{"schemaVersion":2}').digest('hex')}`;
    await expect(client.manifest('acme/app', sha512)).resolves.toMatchObject({ json: { schemaVersion: 2 } });
  });

  it('a manifest that calls itself an index is refused as one, whatever else it holds', async () => {
    const layer = await layerPromise;
    const manifest = fluxManifest(layer, { mediaType: 'application/vnd.oci.image.index.v1+json' });
    const registry = await artifactRegistry(manifest, { [sha256(layer)]: layer });
    await expect(ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true }).fetch()).rejects.toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
  });

  it('prototype keys in a manifest change nothing', async () => {
    const layer = await layerPromise;
    const manifest = Buffer.from(
      `{"schemaVersion":2,"__proto__":{"layers":[{"mediaType":"${FLUX_CONTENT_MEDIA_TYPE}","digest":"${sha256(layer)}","size":${layer.byteLength}}]},"layers":[],"constructor":{"prototype":{"polluted":1}}}`,
    );
    const registry = await artifactRegistry(manifest, { [sha256(layer)]: layer });
    await expect(ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true }).fetch()).rejects.toMatchObject({ code: 'OCI_UNSUPPORTED_ARTIFACT' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['layers']).toBeUndefined();
  });

  it('a digest-pinned source does not follow a registry that answers with another digest', async () => {
    const layer = await layerPromise;
    const manifest = fluxManifest(layer);
    const pinned = sha256(Buffer.from('the artifact I pinned'));
    const registry = await artifactRegistry(manifest, { [sha256(layer)]: layer });
    await expect(ociSource({ url: `oci://${registry.host}/acme/app`, ref: { digest: pinned }, insecure: true }).latestRevision()).rejects.toMatchObject({
      code: 'OCI_DIGEST_MISMATCH',
    });
  });

  it('a Docker-Content-Digest that is not a sha256 digest is the registry’s error', async () => {
    for (const header of ['sha256:' + 'A'.repeat(64), 'md5:abc', '../../x']) {
      const registry = await serve((req, res) => res.writeHead(200, { 'docker-content-digest': header }).end());
      await expect(ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag: 'v1' }, insecure: true }).latestRevision(), header).rejects.toMatchObject({
        code: 'OCI_REGISTRY_ERROR',
      });
    }
  });
});

describe('revisions and references', () => {
  it('refuses a tag that would walk out of the manifests path', async () => {
    const registry = await serve((req, res) => res.writeHead(200, { 'docker-content-digest': sha256(Buffer.from('m')) }).end());
    for (const tag of ['../../other/manifests/v1', 'v1/../../x', 'v1?x=1', 'v1#x', '']) {
      const error = await (async () => ociSource({ url: `oci://${registry.host}/acme/app`, ref: { tag }, insecure: true }).latestRevision())().catch((e: unknown) => e);
      expect(error, tag).toMatchObject({ code: 'OCI_INVALID_OPTIONS' });
    }
    expect(registry.seen).toEqual([]);
  });

  it('skips tags a registry lists that are not tags, in a semver range', async () => {
    const digest = sha256(Buffer.from('m'));
    const registry = await serve((req, res) => {
      if (req.url!.includes('/tags/list')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tags: ['1.0.0', '=v9.9.9', ' 8.0.0', 'v7.0.0/../x'] }));
      res.writeHead(200, { 'docker-content-digest': digest }).end();
    });
    await expect(ociSource({ url: `oci://${registry.host}/acme/app`, ref: { semver: '*' }, insecure: true }).latestRevision()).resolves.toBe(`1.0.0@${digest}`);
  });

  it('fetches the last digest of a revision with several @ parts, and refuses uppercase digests', async () => {
    const source = ociSource({ url: 'oci://127.0.0.1:1/acme/app', ref: { tag: 'v1' }, insecure: true });
    await expect(source.fetch(`v1@sha256:${'A'.repeat(64)}`)).rejects.toMatchObject({ code: 'OCI_INVALID_OPTIONS' });
    await expect(source.fetch(`v1@sha256:${'a'.repeat(64)}x`)).rejects.toMatchObject({ code: 'OCI_INVALID_OPTIONS' });
  });
});

describe('bad days', () => {
  it('a registry that trickles a body still hits the deadline', async () => {
    const registry = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const error = await new RegistryClient({ registry: registry.host, insecure: true, timeoutMs: 500, retries: 0 }).manifest('acme/app', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OCI_UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a tag list that is an HTML page, or JSON null: OCI_REGISTRY_ERROR', async () => {
    for (const body of ['<html><body>Login</body></html>', 'null', '"tags"']) {
      const registry = await serve((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(body));
      await expect(new RegistryClient({ registry: registry.host, insecure: true }).tags('acme/app'), body).rejects.toMatchObject({ code: 'OCI_REGISTRY_ERROR' });
    }
  });

  it('a tag list whose Link loops is an error, not the same page a hundred times', async () => {
    const registry = await serve((req, res) => res.writeHead(200, { link: '</v2/acme/app/tags/list?last=a>; rel="next"' }).end(JSON.stringify({ tags: ['a'] })));
    await expect(new RegistryClient({ registry: registry.host, insecure: true }).tags('acme/app')).rejects.toMatchObject({ code: 'OCI_REGISTRY_ERROR' });
    expect(registry.seen.length).toBeLessThanOrEqual(2);
  });

  it('a tag list with more pages than allowed fails instead of picking from a truncated list', async () => {
    const registry = await serve((req, res) => {
      const n = Number(new URL(req.url!, 'http://x').searchParams.get('last') ?? 0);
      res.writeHead(200, { link: `</v2/acme/app/tags/list?last=${n + 1}>; rel="next"` }).end(JSON.stringify({ tags: [`1.0.${n}`] }));
    });
    await expect(new RegistryClient({ registry: registry.host, insecure: true }).tags('acme/app')).rejects.toMatchObject({ code: 'OCI_TOO_LARGE' });
  });

  it('a tag list Link to plain HTTP on another host is not followed', async () => {
    const other = await serve((req, res) => res.writeHead(200).end(JSON.stringify({ tags: ['9.9.9'] })));
    const registry = await serve((req, res) => res.writeHead(200, { link: `<http://${other.host}/v2/acme/app/tags/list?last=a>; rel="next"` }).end(JSON.stringify({ tags: ['a'] })));
    await expect(new RegistryClient({ registry: registry.host, insecure: true }).tags('acme/app')).rejects.toMatchObject({ code: 'OCI_REDIRECT_REFUSED' });
    expect(other.seen).toHaveLength(0);
  });

  it('an upload Location to plain HTTP on another host gets no content', async () => {
    const other = await serve((req, res) => res.writeHead(201).end());
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(404).end();
      res.writeHead(202, { location: `http://${other.host}/upload` }).end();
    });
    await expect(new RegistryClient({ registry: registry.host, insecure: true }).pushBlob('acme/app', Buffer.from('private'))).rejects.toMatchObject({ code: 'OCI_REDIRECT_REFUSED' });
    expect(other.seen).toHaveLength(0);
  });

  it('a 401 loop ends after a bounded number of requests', async () => {
    const realm = await serve((req, res) => res.writeHead(200).end(JSON.stringify({ token: 't' })));
    const registry = await serve((req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token"` }).end());
    await expect(new RegistryClient({ registry: registry.host, insecure: true, credentials }).resolve('acme/app', 'v1')).rejects.toMatchObject({ code: 'OCI_DENIED' });
    expect(registry.seen.length).toBeLessThanOrEqual(3);
    expect(realm.seen.length).toBeLessThanOrEqual(2);
  });

  it('Retry-After negative or huge neither spins nor stalls the pass', async () => {
    for (const retryAfter of ['-5', '999999999', 'soon']) {
      const registry = await serve((req, res, seen) => {
        if (seen.length === 1) return res.writeHead(503, { 'retry-after': retryAfter }).end();
        res.writeHead(200, { 'docker-content-digest': sha256(Buffer.from('m')) }).end();
      });
      const waits: number[] = [];
      const clock = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => (waits.push(ms), setTimeout(fn, 0)), clearTimeout: (t: unknown) => clearTimeout(t as NodeJS.Timeout) };
      await new RegistryClient({ registry: registry.host, insecure: true, clock: clock as never }).resolve('acme/app', 'v1');
      expect(waits.every((ms) => ms >= 0 && ms <= 10_000), `${retryAfter}: ${waits.join(',')}`).toBe(true);
    }
  });
});

describe('cosign against a hostile signature manifest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const digest = sha256(Buffer.from('the artifact'));
  const payloadFor = (d: string, extra: Record<string, unknown> = {}) =>
    json({ critical: { identity: { 'docker-reference': 'elsewhere.example/other/repo' }, image: { 'docker-manifest-digest': d }, type: 'cosign container image signature', ...extra }, optional: null });

  async function signatureRegistry(layers: unknown[], blobs: Record<string, Uint8Array>) {
    const manifest = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers });
    return serve((req, res) => {
      const path = req.url!;
      if (path.includes('/manifests/')) return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
      const b = /\/blobs\/(.+)$/.exec(path);
      if (b && blobs[b[1]!]) return res.writeHead(200).end(blobs[b[1]!]);
      res.writeHead(404).end();
    });
  }
  const layerOf = (payload: Uint8Array) => ({
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: sha256(payload),
    size: payload.byteLength,
    annotations: { 'dev.cosignproject.cosign/signature': sign('sha256', payload, privateKey).toString('base64') },
  });

  it('accepts a signature for this digest made in another repository, as cosign does, and ignores extra critical fields', async () => {
    const payload = payloadFor(digest, { extra: { anything: true } });
    const registry = await signatureRegistry([layerOf(payload)], { [sha256(payload)]: payload });
    await expect(verifyCosignSignature(new RegistryClient({ registry: registry.host, insecure: true }), 'acme/app', digest, { publicKeys: [pem] })).resolves.toBeUndefined();
  });

  it('a signature manifest with null layers or a non-list: OCI_SIGNATURE_INVALID, not a TypeError', async () => {
    for (const layers of [[null], 'x']) {
      const registry = await signatureRegistry(layers as unknown[], {});
      await expect(verifyCosignSignature(new RegistryClient({ registry: registry.host, insecure: true }), 'acme/app', digest, { publicKeys: [pem] })).rejects.toMatchObject({
        code: 'OCI_SIGNATURE_INVALID',
      });
    }
  });

  it('a signature manifest with thousands of layers is refused without downloading them all', async () => {
    const payloads = Array.from({ length: 1000 }, (_, i) => payloadFor(sha256(Buffer.from(`other ${i}`))));
    const registry = await signatureRegistry(payloads.map(layerOf), Object.fromEntries(payloads.map((p) => [sha256(p), p])));
    await expect(verifyCosignSignature(new RegistryClient({ registry: registry.host, insecure: true }), 'acme/app', digest, { publicKeys: [pem] })).rejects.toMatchObject({
      code: 'OCI_SIGNATURE_INVALID',
    });
    expect(registry.seen.length).toBeLessThan(200);
  });

  it('a signature layer pointing at a huge blob stops at the payload limit', async () => {
    const huge = Buffer.alloc(8 * 1024 * 1024, 0x20);
    const registry = await signatureRegistry([layerOf(huge)], { [sha256(huge)]: huge });
    await expect(verifyCosignSignature(new RegistryClient({ registry: registry.host, insecure: true }), 'acme/app', digest, { publicKeys: [pem] })).rejects.toBeInstanceOf(OciError);
  });
});

describe('on the real registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('refuses a traversal layer pushed to a real registry; the fetch applies nothing', async () => {
    const client = new RegistryClient({ registry: registry.host, insecure: true });
    const layer = await tarOf([{ name: 'ok.yaml', type: 'file', pax: { path: 'a/../../escape.yaml' } }], ['x']);
    const config = await client.pushBlob('hostile/app', Buffer.from('{}'));
    const blob = await client.pushBlob('hostile/app', layer);
    await client.pushManifest(
      'hostile/app',
      'v1',
      'application/vnd.oci.image.manifest.v1+json',
      json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { ...config, mediaType: 'application/vnd.cncf.flux.config.v1+json' }, layers: [{ mediaType: FLUX_CONTENT_MEDIA_TYPE, digest: blob.digest, size: blob.size }] }),
    );
    await expect(ociSource({ url: `oci://${registry.host}/hostile/app`, ref: { tag: 'v1' }, insecure: true }).fetch()).rejects.toMatchObject({ code: 'OCI_UNSAFE_ARCHIVE' });
  });
});
