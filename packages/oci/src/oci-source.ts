import { memoryFileTree, type Artifact, type Clock, type Source, type SourceCallOptions } from '@converge/core';
import semver from 'semver';
import { verifyCosignSignature, type CosignVerification } from './cosign-verify.js';
import type { OciAuth } from './credentials.js';
import { isTag } from './image-reference.js';
import { clientFor } from './internal/client-for.js';
import { ociArtifactLayer } from './internal/artifact-layer.js';
import { newestVersion } from './newest-version.js';
import { unpackTar } from './unpack-tar.js';
import { OciError } from './oci-error.js';
import { parseOciUrl } from './oci-url.js';

/** Which artifact an {@link ociSource} follows: exactly one of a tag, a semver range over the tags, or a digest. */
export type OciRef = { tag: string } | { semver: string } | { digest: string };

/** Options of {@link ociSource}. */
export interface OciSourceOptions {
  /** `oci://<registry>/<repository>`, e.g. `oci://ghcr.io/acme/manifests` (no tag: that is `ref`). */
  url: string;
  /** What to follow. A semver range picks the newest matching tag (a `v` prefix is accepted). @default { tag: 'latest' } */
  ref?: OciRef;
  /** Credentials, or where to read them; see {@link OciAuth}. @default anonymous */
  auth?: OciAuth;
  /** Talk plain HTTP to the registry (loopback tests, as Flux's `spec.insecure`). @default false */
  insecure?: boolean;
  /** Only the files under this folder of the artifact, re-rooted there. @default the whole artifact */
  path?: string;
  /** The layer to unpack when the artifact has several and none is Flux's content layer: its media type. */
  layerMediaType?: string;
  /** The largest layer to download, in bytes. @default 64 MiB */
  maxLayerBytes?: number;
  /** The most bytes the layer may unpack to. @default 256 MiB */
  maxUnpackedBytes?: number;
  /** The most entries the layer may hold. @default 100000 */
  maxFiles?: number;
  /** Time allowed for each registry request, in ms. @default 30000 */
  timeoutMs?: number;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The clock retries wait on. @default systemClock */
  clock?: Clock;
  /**
   * Verify the artifact's cosign signature before anything from it is used (Flux's
   * `spec.verify`): a fetch whose manifest has no signature by one of these keys fails with
   * `OCI_SIGNATURE_INVALID`, so the pass applies nothing. @default no verification
   */
  verify?: CosignVerification;
}

/**
 * A `Source` that follows an OCI artifact, as Flux's `OCIRepository` does: what CI pushed
 * with `flux push artifact`, `oras push` or {@link pushArtifact}, or a plain image with a single
 * tar layer. Only what CI pushed can be deployed, and the cluster never needs to read Git.
 *
 * - `latestRevision()` is one manifest `HEAD` (plus one tag listing for a semver range): no
 *   download. Revisions read `<tag>@sha256:<manifest digest>`, or `sha256:<digest>` for a digest ref.
 * - `fetch(revision)` fetches exactly that manifest by digest (what was planned is what is
 *   applied, even if the tag moved since), picks Flux's content layer
 *   (`application/vnd.cncf.flux.content.v1.tar+gzip`) or the single tar layer, checks its digest
 *   and size, and unpacks it in memory: no path leaves the artifact, no link points outside, and
 *   the unpacked size is bounded.
 * - With `verify`, the manifest's cosign signature is checked before the layer is downloaded.
 * - Errors are {@link OciError}s; a failed fetch fails the pass, which prunes nothing.
 *
 * @example
 * ```ts
 * const source = ociSource({ url: 'oci://ghcr.io/acme/manifests', ref: { semver: '>=1.0.0' }, auth: { username: 'bot', password: token } });
 * const reconciler = createReconciler({ name: 'shop', source, render: yamlFiles(), sink });
 * ```
 */
export function ociSource(options: OciSourceOptions): Source {
  const ref = options.ref ?? { tag: 'latest' };
  const target = parseOciUrl(options.url);
  if (target.tag !== undefined || target.digest !== undefined) {
    throw new OciError('OCI_INVALID_OPTIONS', `ociSource: ${options.url} names a tag or digest; put it in \`ref\` instead`, { data: { url: options.url } });
  }
  const refs = Object.keys(ref).filter((k) => (ref as Record<string, unknown>)[k] !== undefined);
  if (refs.length !== 1) throw new OciError('OCI_INVALID_OPTIONS', `ociSource: ref needs exactly one of tag, semver or digest (got ${refs.join(', ') || 'none'})`);
  if ('tag' in ref && !isTag(ref.tag)) throw new OciError('OCI_INVALID_OPTIONS', `ociSource: ref.tag ${JSON.stringify(ref.tag)} is not a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  if ('semver' in ref && !semver.validRange(ref.semver)) throw new OciError('OCI_INVALID_OPTIONS', `ociSource: ref.semver ${JSON.stringify(ref.semver)} is not a semver range`);
  if ('digest' in ref && !/^sha256:[a-f0-9]{64}$/.test(ref.digest)) throw new OciError('OCI_INVALID_OPTIONS', `ociSource: ref.digest ${JSON.stringify(ref.digest)} is not sha256:<64 hex digits>`);

  const { registry, repository } = target;
  const client = clientFor(registry, options);
  const label = `oci://${registry}/${repository}`;
  const id = `${label}#${'tag' in ref ? `tag=${ref.tag}` : 'semver' in ref ? `semver=${ref.semver}` : ref.digest}`;

  async function latestRevision(call: SourceCallOptions = {}): Promise<string> {
    if ('digest' in ref) return (await client.resolve(repository, ref.digest, call)).digest;
    let tag: string;
    if ('tag' in ref) tag = ref.tag;
    else {
      const tags = await client.tags(repository, call);
      // Helm writes `+` as `_` in tags; a tag holds no `+`, so the way back is exact.
      const best = newestVersion(tags.filter(isTag).map((t) => t.replace(/_/g, '+')), ref.semver)?.replace(/\+/g, '_');
      if (best === undefined) {
        throw new OciError('OCI_NO_MATCHING_TAG', `${label}: no tag matches ${ref.semver} (${tags.length} tags)`, { data: { range: ref.semver, tags: tags.length } });
      }
      tag = best;
    }
    return `${tag}@${(await client.resolve(repository, tag, call)).digest}`;
  }

  return {
    id,
    latestRevision,
    async fetch(revision, call = {}): Promise<Artifact> {
      const pinned = revision ?? (await latestRevision(call));
      const digest = /(?:^|@)(sha256:[a-f0-9]{64})$/.exec(pinned)?.[1];
      if (!digest) throw new OciError('OCI_INVALID_OPTIONS', `${label}: revision ${JSON.stringify(pinned)} is not <tag>@sha256:<digest> or sha256:<digest>`);
      if (options.verify) await verifyCosignSignature(client, repository, digest, options.verify, call);
      const manifest = await client.manifest(repository, digest, call);
      const layer = ociArtifactLayer(manifest, `${label}@${digest}`, options.layerMediaType);
      const maxLayerBytes = options.maxLayerBytes ?? 64 * 1024 * 1024;
      if (layer.size > maxLayerBytes) {
        throw new OciError('OCI_TOO_LARGE', `${label}@${digest}: its layer is ${layer.size} bytes, more than the ${maxLayerBytes} allowed (maxLayerBytes)`, { data: { maxBytes: maxLayerBytes } });
      }
      // The declared size bounds the download: a registry sending more than the manifest says is refused.
      const archive = await client.blob(repository, layer.digest, { ...call, maxBytes: layer.size });
      const files = await unpackTar(archive, { what: `the layer of ${label}@${digest}`, maxBytes: options.maxUnpackedBytes ?? 256 * 1024 * 1024, maxFiles: options.maxFiles ?? 100_000 });
      return { source: id, revision: pinned, files: memoryFileTree(subtree(files, options.path, label)) };
    },
  };
}

function subtree(files: ReadonlyMap<string, Uint8Array>, path: string | undefined, label: string): Record<string, Uint8Array> {
  const prefix = (path ?? '').replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const result: Record<string, Uint8Array> = {};
  for (const [name, content] of files) {
    if (prefix === '') result[name] = content;
    else if (name.startsWith(`${prefix}/`)) result[name.slice(prefix.length + 1)] = content;
  }
  if (prefix !== '' && Object.keys(result).length === 0) {
    throw new OciError('OCI_NOT_FOUND', `${label}: the artifact has no folder ${prefix}`, { data: { path: prefix } });
  }
  return result;
}
