import type { RebuildReason } from './internal/git-cache.js';

export type { RebuildReason };

/** A ref lookup (the cost of a poll) finished. */
export interface GitRefsEvent {
  /** Discriminant. */
  type: 'refs';
  /** What was looked up, e.g. `branch=main`. */
  ref: string;
  /** The revision found. */
  revision: string;
  /** How long the lookup took. */
  durationMs: number;
}

/** A fetch needs to download objects and is starting. */
export interface GitFetchStartEvent {
  /** Discriminant. */
  type: 'fetch-start';
  /** The revision being fetched. */
  revision: string;
}

/** Transfer progress from the server (`Counting objects`, `Receiving objects`) and the pack indexer. */
export interface GitTransferEvent {
  /** Discriminant. */
  type: 'transfer';
  /** The phase, as git names it. */
  phase: string;
  /** Items done. */
  loaded: number;
  /** Items in total, when known. */
  total?: number;
}

/** A fetch finished and its artifact is ready. */
export interface GitFetchedEvent {
  /** Discriminant. */
  type: 'fetched';
  /** The revision of the artifact. */
  revision: string;
  /** Whether the commit was already in the cache (nothing was downloaded). */
  cached: boolean;
  /** HTTP response bytes downloaded. */
  bytes: number;
  /** Files in the artifact (after `path` and ignore filters). */
  files: number;
  /** How long the fetch took. */
  durationMs: number;
}

/**
 * The cache directory was found damaged, wiped, and is being rebuilt from the remote; nothing
 * in it was served.
 */
export interface GitCacheRebuiltEvent {
  /** Discriminant. */
  type: 'cache-rebuilt';
  /**
   * Why: a killed fetch (`interrupted`), a damaged file or object (`corrupt`: garbage `config`
   * or `HEAD`, a truncated pack, a ref to a missing object…), another URL (`foreign`).
   */
  reason: RebuildReason;
  /** What exactly was found, e.g. `config line 3 is not valid git config`. */
  detail: string;
  /** The directory. */
  cacheDir: string;
}

/** A commit signature was verified against the trusted keys. */
export interface GitVerifiedEvent {
  /** Discriminant. */
  type: 'verified';
  /** The revision whose commit was verified. */
  revision: string;
  /** The id (hex) of the key that signed it. */
  keyId: string;
}

/** What a git source or writer reports through `onProgress`, a union on `type`. */
export type GitSourceEvent = GitRefsEvent | GitFetchStartEvent | GitTransferEvent | GitFetchedEvent | GitCacheRebuiltEvent | GitVerifiedEvent;
