import type { RebuildReason } from './internal/git-cache.js';

export type { RebuildReason };

/**
 * What a git source reports through `onProgress`, a union on `type`:
 * - `refs`: a ref lookup (the cost of a poll) finished;
 * - `fetch-start` / `fetched`: a fetch began / ended (`cached` when no download was needed);
 * - `transfer`: transfer progress from the server and the pack indexer;
 * - `cache-rebuilt`: the cache directory was wiped (a killed fetch, a damaged object, another URL);
 * - `verified`: a commit signature was checked against the trusted keys.
 */
export type GitSourceEvent =
  | { type: 'refs'; ref: string; revision: string; durationMs: number }
  | { type: 'fetch-start'; revision: string }
  | { type: 'transfer'; phase: string; loaded: number; total?: number }
  | { type: 'fetched'; revision: string; cached: boolean; bytes: number; files: number; durationMs: number }
  | { type: 'cache-rebuilt'; reason: RebuildReason; cacheDir: string }
  | { type: 'verified'; revision: string; keyId: string };
