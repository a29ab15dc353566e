import { parseImageReference, type ImageReference } from './image-reference.js';
import { OciError } from './oci-error.js';

/**
 * Parses an `oci://` URL as Flux and Helm write them, `oci://<registry>/<repository>[:tag][@digest]`.
 * Unlike an image reference, the registry is never implied: `oci://nginx` is an error, not
 * Docker Hub.
 *
 * @throws {@link OciError} `OCI_INVALID_URL` naming what is wrong.
 * @example
 * ```ts
 * parseOciUrl('oci://ghcr.io/acme/manifests:v1'); // { registry: 'ghcr.io', repository: 'acme/manifests', tag: 'v1' }
 * ```
 */
export function parseOciUrl(url: string): ImageReference {
  // Credentials written into the URL (`oci://user:password@host/…`) are never repeated.
  const shown = url.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1***@');
  const invalid = (why: string) => new OciError('OCI_INVALID_URL', `invalid OCI URL ${JSON.stringify(shown)}: ${why}`, { data: { url: shown } });
  if (shown !== url) throw invalid('credentials do not belong in the URL; pass them in `auth`');
  if (!url.startsWith('oci://')) throw invalid('expected oci://<registry>/<repository>');
  const rest = url.slice('oci://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid('expected oci://<registry>/<repository>');
  let ref: ImageReference;
  try {
    ref = parseImageReference(rest);
  } catch (error) {
    throw invalid((error as Error).message.replace(/^invalid image reference "[^"]*": /, ''));
  }
  // parseImageReference reads a first component without `.`, `:` or `localhost` as a Docker Hub path.
  if (ref.registry !== rest.slice(0, slash) && !rest.startsWith('docker.io/') && !rest.startsWith('index.docker.io/')) {
    throw invalid(`"${rest.slice(0, slash)}" is not a registry host (it needs a "." or a port, or be localhost)`);
  }
  return ref;
}
