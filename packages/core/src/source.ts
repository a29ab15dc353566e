import type { Artifact } from './file-tree.js';

/** Options accepted by {@link Source} calls. */
export interface SourceCallOptions {
  signal?: AbortSignal;
}

/**
 * Where desired state lives (a Git repository, a directory, a bucket…).
 * `latestRevision()` must be cheap: it runs on every poll.
 */
export interface Source {
  /** A stable identifier, e.g. the URL and ref. Never contains credentials. */
  readonly id: string;
  /** The newest revision, without downloading content. */
  latestRevision(options?: SourceCallOptions): Promise<string>;
  /** An immutable artifact at `revision` (default: the latest). */
  fetch(revision?: string, options?: SourceCallOptions): Promise<Artifact>;
}
