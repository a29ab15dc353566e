/** The config media type of artifacts `flux push artifact` writes (its content is `{}`). */
export const FLUX_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.flux.config.v1+json';

/** The layer media type of artifacts `flux push artifact` writes: the files as a tar+gzip. */
export const FLUX_CONTENT_MEDIA_TYPE = 'application/vnd.cncf.flux.content.v1.tar+gzip';

/** The annotation naming the revision (e.g. `main@sha1:…`) an artifact was built from. */
export const REVISION_ANNOTATION = 'org.opencontainers.image.revision';

/** The annotation naming the source (e.g. the Git URL) an artifact was built from. */
export const SOURCE_ANNOTATION = 'org.opencontainers.image.source';

/** The annotation with the artifact's creation time (RFC 3339). */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';
