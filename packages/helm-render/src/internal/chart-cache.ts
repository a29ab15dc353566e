import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The default folder for downloaded charts: `${XDG_CACHE_HOME:-~/.cache}/converge/helm-charts`. */
export function defaultChartCacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'converge', 'helm-charts');
}

/** Hex SHA-256 of some bytes. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A content-addressed store of chart archives: `<dir>/sha256/<hex>.tgz`. Reads verify the
 * digest (a damaged file is a miss); writes are atomic (temp file + rename), so concurrent
 * processes never see a partial archive.
 */
export class ChartCache {
  constructor(readonly dir: string = defaultChartCacheDir()) {}

  #path(digest: string): string {
    return join(this.dir, 'sha256', `${digest}.tgz`);
  }

  /** The archive with this SHA-256 digest, or `undefined`. */
  async get(digest: string): Promise<Uint8Array | undefined> {
    try {
      const data = new Uint8Array(await readFile(this.#path(digest)));
      return sha256(data) === digest ? data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores an archive under its digest (best effort: a read-only cache is not an error). */
  async put(digest: string, data: Uint8Array): Promise<void> {
    const path = this.#path(digest);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(join(this.dir, 'sha256'), { recursive: true });
      await writeFile(tmp, data);
      await rename(tmp, path);
    } catch {
      await rm(tmp, { force: true });
    }
  }
}
