import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

const sha256Hex = (content: string | Uint8Array): string => createHash('sha256').update(content).digest('hex');

/**
 * The root of Converge's build cache: `$CONVERGE_CACHE_DIR`, else
 * `${XDG_CACHE_HOME:-$HOME/.cache}/converge` — where core's `scripts/go-build.sh` puts every
 * binary the test harnesses run.
 */
export function convergeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['CONVERGE_CACHE_DIR'] || join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'converge');
}

/**
 * The folder `scripts/go-build.sh` publishes a build into: `<cache>/<name>/<input hash>`, with
 * the same input hash the script computes from the same files (16 hex digits of sha256 over the
 * lines `<basename>=<sha256 of the file>`, in the order given). A harness finds its binary with
 * it without asking Go.
 *
 * @example
 * ```ts
 * const dir = goBuildCacheDir('registry', [goMod, goSum, goBuildScript, buildScript]);
 * if (isExecutableFile(join(dir, 'registry'))) startTheRegistry(join(dir, 'registry'));
 * ```
 */
export function goBuildCacheDir(name: string, keyFiles: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const lines = keyFiles.map((f) => `${basename(f)}=${sha256Hex(readFileSync(f))}\n`).join('');
  return join(convergeCacheDir(env), name, sha256Hex(lines).slice(0, 16));
}

/** Whether `path` is a regular file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
