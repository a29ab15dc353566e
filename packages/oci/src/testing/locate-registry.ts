import { goBuildCacheDir, isExecutableFile as executable } from '@converge/core/testing';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative } from 'node:path';
import { OciError } from '../oci-error.js';

/** Where the registry binary is, and how it was found. */
export interface RegistryBinary {
  /** Path of the executable. */
  path: string;
  /** `CONVERGE_REGISTRY_BIN`, the build script's cache, or a `docker-registry` / `registry` on PATH. */
  origin: 'CONVERGE_REGISTRY_BIN' | 'cache' | 'PATH';
}

const PATH_NAMES = ['docker-registry', 'registry'];

function packageRoot(name = '@converge/oci'): string {
  return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
}

/** The files scripts/build-registry.sh hashes into its cache key, in its order. */
function keyFiles(): string[] {
  const root = packageRoot();
  return [join(root, 'registry-module', 'go.mod'), join(root, 'registry-module', 'go.sum'), join(packageRoot('@converge/core'), 'scripts', 'go-build.sh'), join(root, 'scripts', 'build-registry.sh')];
}

/**
 * Where `scripts/build-registry.sh` puts the binary:
 * `${CONVERGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/converge}/registry/<hash>/registry`, with
 * `<hash>` the same input hash the script computes (go.mod, go.sum, core's go-build.sh and the script).
 */
export function registryCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(goBuildCacheDir('registry', keyFiles(), env), 'registry');
}

/**
 * Finds the OCI registry binary {@link startRegistry} runs: `CONVERGE_REGISTRY_BIN` when set,
 * else the one `scripts/build-registry.sh` built (CNCF distribution v3, pinned), else a
 * `docker-registry` or `registry` on PATH. The built one comes before PATH so that test runs
 * use the pinned version. Throws `REGISTRY_NOT_FOUND` saying which command builds it.
 */
export function locateRegistry(env: NodeJS.ProcessEnv = process.env): RegistryBinary {
  const override = env['CONVERGE_REGISTRY_BIN'];
  if (override) {
    if (!executable(override)) {
      throw new OciError('REGISTRY_NOT_FOUND', `CONVERGE_REGISTRY_BIN=${override} is not an executable file; unset it to use the built registry`);
    }
    return { path: override, origin: 'CONVERGE_REGISTRY_BIN' };
  }
  const cached = registryCachePath(env);
  if (executable(cached)) return { path: cached, origin: 'cache' };
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    for (const name of PATH_NAMES) {
      if (dir && executable(join(dir, name))) return { path: join(dir, name), origin: 'PATH' };
    }
  }
  const script = relative(process.cwd(), join(packageRoot(), 'scripts', 'build-registry.sh'));
  throw new OciError(
    'REGISTRY_NOT_FOUND',
    `no OCI registry binary: startRegistry() runs CNCF distribution's registry, and ${cached} does not exist yet. ` +
      `Build it once with \`bash ${script}\` (needs Go 1.26+, a few minutes), ` +
      'or put a `docker-registry` or `registry` binary (distribution 2.8+) on PATH, or set CONVERGE_REGISTRY_BIN.',
    { data: { cachePath: cached } },
  );
}
