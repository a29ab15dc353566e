export type { GitSourceOptions, GitRef, GitAuth, GitVerifyOptions } from './git-source.js';
export { gitSource, defaultCacheDir } from './git-source.js';
export type { GitSourceEvent, RebuildReason } from './events.js';
export type { GitRevision } from './revision.js';
export { formatRevision, parseRevision } from './revision.js';
export type { GitErrorOptions, SignatureProblem } from './errors.js';
export {
  GitAuthError,
  GitUnreachableError,
  GitRefNotFoundError,
  GitRepoNotFoundError,
  GitSignatureError,
  GitCacheCorruptError,
  GitPushRejectedError,
} from './errors.js';
