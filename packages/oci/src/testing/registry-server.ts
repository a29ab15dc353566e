import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { harnessTempDir, ProcessStartError, startServerProcess, type ServerProcess } from '@converge/core/testing';
import { OciError } from '../oci-error.js';
import { packTar } from '../pack-tar-gz.js';
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
  /** The last lines of the registry's log, for failure messages. @default 30 lines */
  logTail(lines?: number): Promise<string>;
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
 * registry does not come up, `REGISTRY_START_FAILED` with its log. The process handling (free
 * port tried again when taken, graceful stop, no registry left running when the test run dies)
 * is `startServerProcess` from `@converge/core/testing`.
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
  const dir = await harnessTempDir({ prefix: 'converge-registry-' });
  let proc: ServerProcess | undefined;
  try {
    let auth = '';
    let pushAuthorization = options.pushAuthorization;
    if (options.authConfig) {
      auth = `auth:\n${yamlBlock(options.authConfig, '  ')}`;
    } else if (options.basicAuth) {
      const { username, password } = options.basicAuth;
      // The registry's htpasswd accepts bcrypt only; loaded when asked for.
      const { default: bcrypt } = await import('bcryptjs');
      await writeFile(join(dir.path, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 5)}\n`);
      auth = `auth:\n  htpasswd:\n    realm: converge-test\n    path: ${join(dir.path, 'htpasswd')}\n`;
      const header = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      pushAuthorization ??= async () => header;
    }
    const config = join(dir.path, 'config.yml');
    proc = await startServerProcess({
      name: 'registry',
      logFile: join(dir.path, 'registry.log'),
      command: async (port) => {
        await writeFile(config, registryConfig(dir.path, port, auth));
        // distribution v3 exports a trace of every request over OTLP (to localhost:4318) unless told not to.
        return { command: binary, args: ['serve', config], env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } };
      },
      ready: async (port, signal) => {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`, { signal });
        await res.body?.cancel();
        return res.status === 200 || res.status === 401;
      },
      startTimeoutMs: 15_000,
    });
    const running = proc;
    const host = `127.0.0.1:${running.port}`;
    const registry = registryClient(`http://${host}`, pushAuthorization);
    return {
      host,
      url: `http://${host}`,
      push: registry.push,
      pushIndex: registry.pushIndex,
      logTail: (lines) => running.logTail(lines),
      async stop() {
        await running.stop(3_000);
        await dir.remove();
      },
    };
  } catch (error) {
    await proc?.stop(3_000);
    await dir.remove();
    if (error instanceof ProcessStartError) throw new OciError('REGISTRY_START_FAILED', `${binary} did not start: ${error.message}`, { cause: error });
    throw error;
  }
}

function registryConfig(dir: string, port: number, auth: string): string {
  return `version: 0.1
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
${auth}`;
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
    // A layer is a gzipped tar; a file named after the seed keeps images distinct.
    const tar = await packTar(new Map([[`seed-${seed}`, Buffer.from(seed)]]));
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

function yamlBlock(value: Record<string, unknown>, indent: string): string {
  return Object.entries(value)
    .map(([k, v]) => (typeof v === 'object' && v !== null ? `${indent}${k}:\n${yamlBlock(v as Record<string, unknown>, `${indent}  `)}` : `${indent}${k}: ${JSON.stringify(v)}\n`))
    .join('');
}
