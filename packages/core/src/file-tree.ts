/**
 * A read-only tree of files, addressed by `/`-separated paths relative to its root.
 * Sources hand one to renderers inside an {@link Artifact}.
 */
export interface FileTree {
  /** Every file path (not directories) under `dir` (default: the whole tree), sorted. */
  list(dir?: string): Promise<string[]>;
  /** The bytes of one file. Rejects with `FileNotFoundError` if it does not exist. */
  read(path: string): Promise<Uint8Array>;
}

/** An immutable snapshot of desired state at one revision. */
export interface Artifact {
  /** The id of the source it came from. */
  source: string;
  /** The revision it was taken at, e.g. `main@sha1:…` or `sha256:…`. */
  revision: string;
  /** Its files. */
  files: FileTree;
}
