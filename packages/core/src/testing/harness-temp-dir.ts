import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapDir } from './internal/reaper.js';

/** A temp dir of a test harness: removed by `remove()`, or when the test run dies. */
export interface HarnessTempDir {
  /** Its absolute path. */
  readonly path: string;
  /** Removes it and everything in it. Safe to call more than once. */
  remove(): Promise<void>;
}

/** Options of {@link harnessTempDir}. */
export interface HarnessTempDirOptions {
  /** The start of the dir's name, e.g. `converge-registry-`. */
  prefix: string;
  /** Where to create it. @default os.tmpdir() */
  parent?: string;
}

/**
 * Creates a temp dir for a test harness's data and logs that does not outlive the test run:
 * `remove()` deletes it, and so does the harnesses' cleanup when the run exits or is killed
 * before that (see `startProcess`).
 *
 * @example
 * ```ts
 * const dir = await harnessTempDir({ prefix: 'converge-registry-' });
 * // … start a server that stores its data in dir.path
 * await dir.remove();
 * ```
 */
export async function harnessTempDir(options: HarnessTempDirOptions): Promise<HarnessTempDir> {
  const path = await mkdtemp(join(options.parent ?? tmpdir(), options.prefix));
  const release = reapDir(path);
  return {
    path,
    async remove() {
      await rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      release();
    },
  };
}
