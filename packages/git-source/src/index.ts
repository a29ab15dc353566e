export type { GitSourceOptions, GitRef, GitAuth, GitVerifyOptions } from './git-source.js';
export { parseGitRef } from './git-source.js';
export { gitSource, defaultCacheDir } from './git-source.js';
export type {
  GitSourceEvent,
  GitRefsEvent,
  GitFetchStartEvent,
  GitTransferEvent,
  GitFetchedEvent,
  GitCacheRebuiltEvent,
  GitVerifiedEvent,
  RebuildReason,
} from './events.js';
export type { GitRevision } from './revision.js';
export { formatRevision, parseRevision } from './revision.js';
export type { GitErrorOptions, GitSourceErrorCode, SignatureProblem, GitTimeoutPhase, GitTimeoutData } from './errors.js';
export {
  GitSourceError,
  GitAuthError,
  GitUnreachableError,
  GitRefNotFoundError,
  GitRepoNotFoundError,
  GitSignatureError,
  GitCacheCorruptError,
  GitPushRejectedError,
  GitTimeoutError,
} from './errors.js';
export type { GitWriter, GitWriterOptions, GitWriteRequest, GitWriteResult, WritableFiles, GitIdentity } from './git-writer.js';
export { gitWriter } from './git-writer.js';
export type { SetYamlFieldOptions } from './set-yaml-field.js';
export { setYamlField } from './set-yaml-field.js';
export { replaceImageTag } from './replace-image-tag.js';
