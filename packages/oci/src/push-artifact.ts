import { directoryFileTree, refOf, formatRef, sensitivePathsOf, type Clock, type FileTree, type KubeObject } from '@converge/core';
import { stringify } from 'yaml';
import { CREATED_ANNOTATION, FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, REVISION_ANNOTATION, SOURCE_ANNOTATION } from './artifact-media-types.js';
import type { OciAuth } from './credentials.js';
import { clientFor } from './internal/client-for.js';
import { packTarGz } from './pack-tar-gz.js';
import { OciError } from './oci-error.js';
import { parseOciUrl } from './oci-url.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** What {@link pushArtifact} packs: exactly one of a folder, a file tree, or rendered objects. */
export type ArtifactContent =
  | { dir: string }
  /** For instance an `Artifact`'s files, as a source fetched them. */
  | { files: FileTree }
  /** Written as one multi-document `manifests.yaml`, in the order given. */
  | { objects: readonly KubeObject[] };

/** Options of {@link pushArtifact}. */
export type PushArtifactOptions = ArtifactContent & {
  /** `oci://<registry>/<repository>:<tag>`. */
  url: string;
  /** The revision it was built from, e.g. `main@sha1:<commit>` (Flux's `--revision`); annotated as `org.opencontainers.image.revision`. */
  revision?: string;
  /** Where it was built from, e.g. the Git URL (Flux's `--source`); annotated as `org.opencontainers.image.source`. */
  source?: string;
  /** More manifest annotations. */
  annotations?: Record<string, string>;
  /** The creation time annotated; pass a fixed one (e.g. the commit time) for reproducible digests. @default now */
  created?: Date;
  /** Credentials, or where to read them. @default anonymous */
  auth?: OciAuth;
  /** Talk plain HTTP to the registry (loopback tests). @default false */
  insecure?: boolean;
  /** Time allowed for each registry request, in ms. @default 30000 */
  timeoutMs?: number;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The clock retries wait on and `created` defaults to. @default systemClock */
  clock?: Clock;
};

/** What {@link pushArtifact} pushed. */
export interface PushedArtifact {
  /** `oci://<registry>/<repository>:<tag>`. */
  url: string;
  /** The manifest digest, `sha256:…`. */
  digest: string;
  /** `<tag>@<digest>`: the revision an {@link ociSource} following the tag will report. */
  revision: string;
  /** Bytes of the content layer. */
  size: number;
}

/**
 * Packs a folder, a file tree or rendered objects into an artifact in the format
 * `flux push artifact` writes (config `application/vnd.cncf.flux.config.v1+json`, one
 * `application/vnd.cncf.flux.content.v1.tar+gzip` layer, source and revision annotations) and
 * pushes it, tagged: what a CI step runs so that the cluster deploys only what CI built, with
 * {@link ociSource}, Flux's `OCIRepository` or `oras pull` on the other side. The tar is
 * reproducible (sorted, no times or owners), so unchanged content keeps its layer digest;
 * blobs the registry has already are not uploaded again. Objects carrying decrypted secret
 * values (`markSensitive`, e.g. from `sopsDecrypt`) are refused: push the encrypted files instead.
 *
 * @example
 * ```ts
 * const { digest } = await pushArtifact({
 *   url: 'oci://ghcr.io/acme/manifests:main', dir: './deploy',
 *   source: 'https://github.com/acme/shop', revision: `main@sha1:${process.env.GITHUB_SHA}`,
 *   auth: { username: 'ci', password: process.env.GHCR_TOKEN! },
 * });
 * ```
 */
export async function pushArtifact(options: PushArtifactOptions, call: { signal?: AbortSignal } = {}): Promise<PushedArtifact> {
  const target = parseOciUrl(options.url);
  if (target.tag === undefined || target.digest !== undefined) {
    throw new OciError('OCI_INVALID_URL', `pushArtifact: ${options.url} needs a tag and no digest: oci://<registry>/<repository>:<tag>`, { data: { url: options.url } });
  }
  const { registry, repository, tag } = target;
  const files = await contentOf(options);
  const layer = await packTarGz(files);
  const client = clientFor(registry, options);

  const config = new TextEncoder().encode('{}');
  const [configBlob, layerBlob] = [await client.pushBlob(repository, config, call), await client.pushBlob(repository, layer, call)];
  const created = options.created ?? new Date(options.clock?.now() ?? Date.now());
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: FLUX_CONFIG_MEDIA_TYPE, digest: configBlob.digest, size: configBlob.size },
    layers: [{ mediaType: FLUX_CONTENT_MEDIA_TYPE, digest: layerBlob.digest, size: layerBlob.size }],
    annotations: {
      ...options.annotations,
      [CREATED_ANNOTATION]: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(options.source !== undefined && { [SOURCE_ANNOTATION]: options.source }),
      ...(options.revision !== undefined && { [REVISION_ANNOTATION]: options.revision }),
    },
  };
  const digest = await client.pushManifest(repository, tag, OCI_MANIFEST, new TextEncoder().encode(JSON.stringify(manifest)), call);
  return { url: `oci://${registry}/${repository}:${tag}`, digest, revision: `${tag}@${digest}`, size: layer.byteLength };
}

async function contentOf(content: ArtifactContent): Promise<Map<string, Uint8Array>> {
  const given = (['dir', 'files', 'objects'] as const).filter((k) => k in content && (content as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) throw new OciError('OCI_INVALID_OPTIONS', `pushArtifact: give exactly one of dir, files or objects (got ${given.join(', ') || 'none'})`);
  if ('objects' in content) {
    for (const object of content.objects) {
      if (sensitivePathsOf(object).size > 0) {
        throw new OciError('OCI_INVALID_OPTIONS', `pushArtifact: ${formatRef(refOf(object))} carries decrypted secret values; push the encrypted files instead`);
      }
    }
    return new Map([['manifests.yaml', new TextEncoder().encode(content.objects.map((o) => stringify(o)).join('---\n'))]]);
  }
  const tree = 'dir' in content ? directoryFileTree(content.dir) : content.files;
  const paths = await tree.list();
  const files = new Map<string, Uint8Array>();
  // Reads overlap (a folder on disk costs a realpath and a read per file), 64 at a time.
  for (let i = 0; i < paths.length; i += 64) {
    const batch = paths.slice(i, i + 64);
    const contents = await Promise.all(batch.map((path) => tree.read(path)));
    batch.forEach((path, j) => files.set(path, contents[j]!));
  }
  return files;
}
