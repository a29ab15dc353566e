export type { OciErrorCode } from './oci-error.js';
export { OciError } from './oci-error.js';
export type { ImageReference } from './image-reference.js';
export { parseImageReference, formatImageReference, ImageReferenceError } from './image-reference.js';
export { parseOciUrl } from './oci-url.js';
export type { RegistryCredentials, DockerConfigOptions, OciAuth } from './credentials.js';
export { DOCKER_HUB_REGISTRY, registryHost, credentialsFor, dockerConfigCredentials, resolveAuth } from './credentials.js';
export type {
  RegistryClientOptions,
  ResolvedManifest,
  FetchedManifest,
  OciManifest,
  OciDescriptor,
  RegistryCallOptions,
  RegistryReadOptions,
} from './registry-client.js';
export { RegistryClient, MANIFEST_MEDIA_TYPES, sha256 } from './registry-client.js';
export { FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, REVISION_ANNOTATION, SOURCE_ANNOTATION, CREATED_ANNOTATION } from './artifact-media-types.js';
export type { OciRef, OciSourceOptions } from './oci-source.js';
export { ociSource } from './oci-source.js';
export type { CosignVerification } from './cosign-verify.js';
export { verifyCosignSignature } from './cosign-verify.js';
export type { ArtifactContent, PushArtifactOptions, PushedArtifact } from './push-artifact.js';
export { pushArtifact } from './push-artifact.js';
export { newestVersion } from './newest-version.js';
export { packTarGz } from './pack-tar-gz.js';
export type { UnpackTarOptions } from './unpack-tar.js';
export { unpackTar } from './unpack-tar.js';
export type { ImageUsage } from './images-of.js';
export { imagesOf, imageUsages } from './images-of.js';
export type { ImagesExistOptions, BlockedImage } from './images-exist.js';
export { imagesExist } from './images-exist.js';
