import { DOCKER_HUB_REGISTRY } from './credentials.js';
import { OciError } from './oci-error.js';

/**
 * A container image reference, normalised the way Docker and containerd resolve it
 * (distribution/reference `ParseNormalizedNamed`): `nginx` is `registry-1.docker.io/library/nginx`.
 */
export interface ImageReference {
  /** The registry host (with port) to talk to, e.g. `registry-1.docker.io` or `localhost:5000`. */
  registry: string;
  /** The repository path inside the registry, e.g. `library/nginx`. */
  repository: string;
  /** The tag, if the reference names one. A reference with neither tag nor digest means `latest`. */
  tag?: string;
  /** The content digest, e.g. `sha256:…`, if the reference is pinned. */
  digest?: string;
}

/** An image reference that container runtimes would refuse. `data.image` holds the text. */
export class ImageReferenceError extends OciError {
  constructor(image: string, reason: string) {
    super('INVALID_IMAGE_REFERENCE', `invalid image reference "${image}": ${reason}`, { data: { image } });
  }
}

// The grammar of github.com/distribution/reference (regexp.go).
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = new RegExp(`^(?:${domainName}|${ipv6})(?::[0-9]+)?$`);
const PATH = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HEX = { sha256: /^[a-f0-9]{64}$/, sha384: /^[a-f0-9]{96}$/, sha512: /^[a-f0-9]{128}$/ } as Record<string, RegExp>;
const NAME_MAX = 255;

/**
 * Parses an image reference as Docker would: the first path component is a registry host when
 * it contains a `.` or a `:` or is `localhost`; otherwise the image is on Docker Hub, where
 * one-component names live under `library/`. `docker.io` and `index.docker.io` mean
 * {@link DOCKER_HUB_REGISTRY}. A reference may carry a tag, a digest, or both (`name:tag@sha256:…`,
 * where the digest is what counts).
 *
 * @throws {@link ImageReferenceError} for references a container runtime would refuse
 * (uppercase repository, bad tag, malformed digest, empty name).
 *
 * @example
 * ```ts
 * parseImageReference('nginx:1.27');
 * // { registry: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27' }
 * parseImageReference('localhost:5000/app@sha256:0123…');
 * // { registry: 'localhost:5000', repository: 'app', digest: 'sha256:0123…' }
 * ```
 */
export function parseImageReference(image: string): ImageReference {
  const text = image.trim();
  if (text === '') throw new ImageReferenceError(image, 'the reference is empty');
  if (text.includes('://')) throw new ImageReferenceError(image, 'a reference has no scheme; drop the "http(s)://" prefix');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageReferenceError(image, `"${digest}" is not a digest (expected algorithm:hex, e.g. sha256:<64 hex digits>)`);
    const [algorithm = '', hex = ''] = digest.split(':');
    const expected = HEX[algorithm];
    if (expected && !expected.test(hex)) throw new ImageReferenceError(image, `"${digest}" has the wrong length or characters for ${algorithm}`);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ImageReferenceError(image, `"${tag}" is not a valid tag`);
  }

  const { domain, path } = splitDomain(rest);
  if (!DOMAIN.test(domain)) throw new ImageReferenceError(image, `"${domain}" is not a valid registry host`);
  let repository = path;
  if (repository === '') throw new ImageReferenceError(image, 'the repository name is empty');
  if (repository !== repository.toLowerCase()) throw new ImageReferenceError(image, 'repository names must be lowercase');
  if (!PATH.test(repository)) throw new ImageReferenceError(image, `"${repository}" is not a valid repository name`);

  let registry = domain;
  if (domain === 'docker.io' || domain === 'index.docker.io') {
    registry = DOCKER_HUB_REGISTRY;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (`${domain}/${repository}`.length > NAME_MAX) throw new ImageReferenceError(image, `the name is longer than ${NAME_MAX} characters`);

  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Whether `text` is a tag by distribution's grammar (`[\w][\w.-]{0,127}`): nothing a URL path could read as `/`, `?` or `..`. */
export function isTag(text: string): boolean {
  return TAG.test(text);
}

/** Whether `text` is a digest by distribution's grammar (`algorithm:encoded`), with lowercase hex of the right length for sha256, sha384 and sha512. */
export function isDigest(text: string): boolean {
  if (!DIGEST.test(text)) return false;
  const [algorithm = '', hex = ''] = text.split(':');
  return HEX[algorithm]?.test(hex) ?? true;
}

/**
 * Writes a reference back as text, fully qualified (`registry/repository[:tag][@digest]`),
 * with Docker Hub spelled `docker.io` as people write it.
 */
export function formatImageReference(ref: ImageReference): string {
  const host = ref.registry === DOCKER_HUB_REGISTRY ? 'docker.io' : ref.registry;
  return `${host}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  // distribution/reference splitDockerDomain: a first component is a host only if it looks like one.
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    return { domain: 'docker.io', path: name };
  }
  return { domain: first, path: name.slice(slash + 1) };
}
