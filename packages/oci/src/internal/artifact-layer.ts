import { FLUX_CONTENT_MEDIA_TYPE } from '../artifact-media-types.js';
import { OciError } from '../oci-error.js';
import type { FetchedManifest, OciDescriptor } from '../registry-client.js';

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const TAR_LAYER = /(^application\/vnd\.oci\.image\.layer\.v1\.tar(\+gzip)?$)|(^application\/vnd\.docker\.image\.rootfs\.diff\.tar(\.gzip)?$)|(\.tar(\+gzip)?$)/;

/**
 * The layer of an artifact manifest that holds its files: the one of `mediaType` when asked,
 * else Flux's content layer, else the only layer when it is a tar. Anything else is
 * `OCI_UNSUPPORTED_ARTIFACT`, saying what the manifest has.
 */
export function ociArtifactLayer(manifest: FetchedManifest, what: string, mediaType?: string): OciDescriptor {
  if (INDEX_TYPES.has(manifest.mediaType) || manifest.json.manifests) {
    throw new OciError('OCI_UNSUPPORTED_ARTIFACT', `${what} is an index of ${manifest.json.manifests?.length ?? 0} manifests (a multi-platform image); point at one manifest`, {
      data: { mediaType: manifest.mediaType },
    });
  }
  const listed: (OciDescriptor | null)[] = Array.isArray(manifest.json.layers) ? manifest.json.layers : [];
  const layers = listed.filter(
    (l): l is OciDescriptor => typeof l?.mediaType === 'string' && typeof l.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(l.digest) && Number.isSafeInteger(l.size) && l.size >= 0,
  );
  // Quoted: a media type is the pusher's text and may hold line breaks or terminal escapes.
  const types = layers.map((l) => JSON.stringify(l.mediaType));
  const chosen = mediaType
    ? layers.find((l) => l.mediaType === mediaType)
    : (layers.find((l) => l.mediaType === FLUX_CONTENT_MEDIA_TYPE) ?? (layers.length === 1 && TAR_LAYER.test(layers[0]!.mediaType) ? layers[0] : undefined));
  if (!chosen) {
    throw new OciError(
      'OCI_UNSUPPORTED_ARTIFACT',
      `${what} has no ${mediaType ?? 'Flux content layer or single tar layer'} (layers: ${types.join(', ') || 'none'})${mediaType ? '' : '; choose one with layerMediaType'}`,
      { data: { layers: layers.map((l) => l.mediaType) } },
    );
  }
  return chosen;
}
