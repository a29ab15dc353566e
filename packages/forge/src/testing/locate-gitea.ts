import { goBuildCacheDir, isExecutableFile as executable } from '@converge/core/testing';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { ForgeError } from '../forge-error.js';

/** Where the Gitea binary and its static files are, and how they were found. */
export interface GiteaBinary {
  /** Path of the executable. */
  path: string;
  /** The folder holding Gitea's `options/` and `templates/` (its `STATIC_ROOT_PATH`). */
  staticRoot: string;
  /** `CONVERGE_GITEA_BIN` (static files from `CONVERGE_GITEA_STATIC`) or the build script's cache. */
  origin: 'CONVERGE_GITEA_BIN' | 'cache';
}

function packageRoot(name: string): string {
  return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
}

/**
 * Where `scripts/build-gitea.sh` puts the binary:
 * `${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/gitea/<hash>/gitea`, with
 * `<hash>` the input hash the script computes (gitea.sum, core's go-build.sh and the two
 * scripts of this package), and the static files in `<hash>-static/`.
 */
export function giteaCachePath(env: NodeJS.ProcessEnv = process.env): { binary: string; staticRoot: string } {
  const forge = packageRoot('@converge/forge');
  // The files build-gitea.sh hashes into its cache key, in its order.
  const files = [join(forge, 'scripts', 'gitea.sum'), join(packageRoot('@converge/core'), 'scripts', 'go-build.sh'), join(forge, 'scripts', 'build-gitea.sh'), join(forge, 'scripts', 'go-with-cgo.sh')];
  const dir = goBuildCacheDir('gitea', files, env);
  return { binary: join(dir, 'gitea'), staticRoot: `${dir}-static` };
}

function hasStatic(dir: string): boolean {
  try {
    return statSync(join(dir, 'options')).isDirectory() && statSync(join(dir, 'templates')).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Finds the Gitea {@link startGitea} runs: `CONVERGE_GITEA_BIN` (with `CONVERGE_GITEA_STATIC`,
 * a folder holding Gitea's `options/` and `templates/`) when set, else the one
 * `scripts/build-gitea.sh` built from `code.gitea.io/gitea` (pinned by `scripts/gitea.sum`).
 *
 * @throws `ForgeError` `FORGE_INVALID_OPTIONS` saying which command builds it.
 */
export function locateGitea(env: NodeJS.ProcessEnv = process.env): GiteaBinary {
  const override = env['CONVERGE_GITEA_BIN'];
  if (override) {
    const staticRoot = env['CONVERGE_GITEA_STATIC'] ?? '';
    if (!executable(override) || !hasStatic(staticRoot)) {
      throw new ForgeError('FORGE_INVALID_OPTIONS', `CONVERGE_GITEA_BIN=${override} needs to be an executable and CONVERGE_GITEA_STATIC a folder with Gitea's options/ and templates/ (got ${JSON.stringify(staticRoot)})`, { data: { forge: 'gitea' } });
    }
    return { path: override, staticRoot, origin: 'CONVERGE_GITEA_BIN' };
  }
  const cached = giteaCachePath(env);
  if (executable(cached.binary) && hasStatic(cached.staticRoot)) return { path: cached.binary, staticRoot: cached.staticRoot, origin: 'cache' };
  const script = relative(process.cwd(), join(packageRoot('@converge/forge'), 'scripts', 'build-gitea.sh'));
  throw new ForgeError(
    'FORGE_INVALID_OPTIONS',
    `no Gitea binary: startGitea() runs Gitea built from its Go module, and ${cached.binary} does not exist yet. ` +
      `Build it once with \`bash ${script}\` (needs Go 1.26+ and a C compiler, about 5 minutes), or set CONVERGE_GITEA_BIN and CONVERGE_GITEA_STATIC.`,
    { data: { forge: 'gitea', cachePath: cached.binary } },
  );
}
