import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort } from '../internal/free-port.js';
import { OciError } from '../oci-error.js';
import { RegistryClient, sha256 } from '../registry-client.js';
import { locateRegistry } from './locate-registry.js';

/** A real OCI registry (CNCF distribution's `registry`) on loopback, for tests. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry host as it appears in image references. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Pushes a minimal single-layer OCI image and tags it; resolves with the manifest digest. */
  push(repository: string, tag: string, options?: { seed?: string }): Promise<string>;
  /** Pushes a minimal OCI image index pointing at a fresh image, tagged; resolves with the index digest. */
  pushIndex(repository: string, tag: string): Promise<string>;
  /** The registry's log so far (stderr), for failure messages. */
  log(): string;
  /** Stops the registry and removes its storage. */
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Require HTTP Basic auth (htpasswd, bcrypt) with this user. */
  basicAuth?: { username: string; password: string };
  /** Extra `auth:` config section (e.g. token auth); replaces `basicAuth`. */
  authConfig?: Record<string, unknown>;
  /** Credentials the helper itself pushes with (an `Authorization` header value). */
  pushAuthorization?: (scope: string) => Promise<string>;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/**
 * Starts a real OCI registry for tests on a free loopback port with storage in a temp dir,
 * optionally behind basic or token auth, and pushes minimal images to it. Use it to test gates
 * such as `imagesExist` or OCI chart sources against the real protocol.
 *
 * The registry is CNCF distribution's `registry`, looked up in this order:
 * 1. `CONVERGE_REGISTRY_BIN`, when set;
 * 2. the binary `bash node_modules/@converge/oci/scripts/build-registry.sh` builds from Go
 *    modules (distribution v3, pinned by the package's `registry-module/go.mod`) into
 *    `~/.cache/converge/registry/<input hash>/registry` (`$CONVERGE_CACHE_DIR` or
 *    `$XDG_CACHE_HOME/converge` when set);
 * 3. a `docker-registry` (Debian's package) or `registry` on PATH.
 *
 * When none is there it throws `REGISTRY_NOT_FOUND` with the command that builds it; when the
 * registry does not come up, `REGISTRY_START_FAILED` with its log.
 *
 * @example
 * ```ts
 * const registry = await startRegistry();
 * await registry.push('acme/shop', '1.2.3');
 * const gate = imagesExist({ insecureRegistries: [registry.host] });
 * await registry.stop();
 * ```
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const binary = locateRegistry().path;
  const dir = mkdtempSync(join(tmpdir(), 'converge-registry-'));
  let auth = '';
  let pushAuthorization = options.pushAuthorization;
  if (options.authConfig) {
    auth = `auth:\n${yamlBlock(options.authConfig, '  ')}`;
  } else if (options.basicAuth) {
    const { username, password } = options.basicAuth;
    // The registry's htpasswd accepts bcrypt only; loaded when asked for.
    const { default: bcrypt } = await import('bcryptjs');
    writeFileSync(join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 5)}\n`);
    auth = `auth:\n  htpasswd:\n    realm: converge-test\n    path: ${join(dir, 'htpasswd')}\n`;
    const header = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    pushAuthorization ??= async () => header;
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString('hex')}
${auth}`,
    );
    // distribution v3 exports a trace of every request over OTLP (to localhost:4318) unless told not to.
    const env = { ...process.env, OTEL_TRACES_EXPORTER: 'none' };
    const child = spawn(binary, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const ready = await waitReady(url, child);
    if (!ready) {
      await kill(child);
      if (attempt < 3 && /address already in use/.test(log)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new OciError('REGISTRY_START_FAILED', `${binary} did not start:\n${log}`);
    }
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const registry = registryClient(url, pushAuthorization);
    return {
      host: `127.0.0.1:${port}`,
      url,
      push: registry.push,
      pushIndex: registry.pushIndex,
      log: () => log,
      async stop() {
        process.removeListener('exit', killOnExit);
        await kill(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

function registryClient(url: string, authorization?: (scope: string) => Promise<string>) {
  const registry = new URL(url).host;
  // The harness pushes through the package's own client; a test that holds the registry's
  // token signer hands in ready Authorization headers instead of going through a login.
  const withAuthorization: typeof fetch = async (input, init = {}) => {
    if (!authorization) return fetch(input, init);
    const repository = /^\/v2\/(.+)\/(?:blobs|manifests|tags)\//.exec(new URL(String(input)).pathname)?.[1] ?? '';
    return fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: await authorization(`repository:${repository}:push,pull`) } });
  };
  const client = new RegistryClient({ registry, insecure: true, fetch: withAuthorization, retries: 0 });
  const pushFailed = (what: string, error: unknown) =>
    new OciError('REGISTRY_PUSH_FAILED', `the test registry refused ${what}: ${(error as Error).message}`, { cause: error });

  async function uploadBlob(repository: string, content: Uint8Array): Promise<string> {
    try {
      return (await client.pushBlob(repository, content)).digest;
    } catch (error) {
      throw pushFailed(`a blob for ${repository}`, error);
    }
  }

  async function putManifest(repository: string, reference: string, mediaType: string, body: string): Promise<string> {
    try {
      return await client.pushManifest(repository, reference, mediaType, Buffer.from(body));
    } catch (error) {
      throw pushFailed(`the manifest ${repository}:${reference}`, error);
    }
  }

  async function pushImage(repository: string, seed: string): Promise<{ digest: string; size: number; manifest: string }> {
    // A layer is a gzipped tar; one empty archive (two zero blocks) plus a file named after the seed keeps images distinct.
    const tar = Buffer.concat([tarFile(`seed-${seed}`, Buffer.from(seed)), Buffer.alloc(1024)]);
    const layer = gzipSync(tar);
    const layerDigest = await uploadBlob(repository, layer);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
    const configDigest = await uploadBlob(repository, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.byteLength }],
    });
    return { digest: sha256(Buffer.from(manifest)), size: Buffer.byteLength(manifest), manifest };
  }

  return {
    async push(repository: string, tag: string, options: { seed?: string } = {}): Promise<string> {
      const image = await pushImage(repository, options.seed ?? `${repository}:${tag}`);
      return putManifest(repository, tag, OCI_MANIFEST, image.manifest);
    },
    async pushIndex(repository: string, tag: string): Promise<string> {
      const image = await pushImage(repository, `${repository}:${tag}:amd64`);
      await putManifest(repository, image.digest, OCI_MANIFEST, image.manifest);
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: image.digest, size: image.size, platform: { architecture: 'amd64', os: 'linux' } }],
      });
      return putManifest(repository, tag, OCI_INDEX, index);
    },
  };
}

function tarFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(body);
  return Buffer.concat([header, body]);
}

function yamlBlock(value: Record<string, unknown>, indent: string): string {
  return Object.entries(value)
    .map(([k, v]) => (typeof v === 'object' && v !== null ? `${indent}${k}:\n${yamlBlock(v as Record<string, unknown>, `${indent}  `)}` : `${indent}${k}: ${JSON.stringify(v)}\n`))
    .join('');
}

async function waitReady(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
