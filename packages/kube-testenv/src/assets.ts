import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeAssetsNotFoundError } from './errors.js';

/** Where the control-plane binaries live, and how they were found. */
export interface KubeAssets {
  /** The directory holding the binaries. */
  dir: string;
  /** Path of the `etcd` binary. */
  etcd: string;
  /** Path of the `kube-apiserver` binary. */
  kubeApiserver: string;
  /** Path of the `kubectl` binary, when the directory has one (the build script always adds it). */
  kubectl?: string;
  /** How `dir` was chosen: the `assetsDir` option, `KUBEBUILDER_ASSETS`, or the build cache. */
  origin: 'option' | 'KUBEBUILDER_ASSETS' | 'cache';
}

/** Options of {@link locateKubeAssets}. */
export interface LocateKubeAssetsOptions {
  /** A directory with `etcd` and `kube-apiserver`; wins over everything else. */
  assetsDir?: string;
  /** The environment to read `KUBEBUILDER_ASSETS`, `CONVERGE_KUBE_ASSETS_DIR`, `XDG_CACHE_HOME` and `HOME` from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

const moduleDir = fileURLToPath(new URL('..', import.meta.url));

/** The build script, as a user runs it from their project. */
export const BUILD_ASSETS_COMMAND = 'bash node_modules/@converge/kube-testenv/scripts/build-assets.sh';

/**
 * The Kubernetes version the build script builds, read from the package's checked-in wrapper
 * module (`assets-module/kubernetes/go.mod`), e.g. `v1.36.3`.
 */
export async function kubeAssetsVersion(): Promise<string> {
  const goMod = await readFile(join(moduleDir, 'assets-module', 'kubernetes', 'go.mod'), 'utf8');
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod);
  if (!match?.[1]) throw new KubeAssetsNotFoundError('cannot read the k8s.io/kubernetes version from assets-module/kubernetes/go.mod');
  return match[1];
}

/**
 * The directory the build script writes to for `version`:
 * `$CONVERGE_KUBE_ASSETS_DIR/<version>`, else `${XDG_CACHE_HOME:-$HOME/.cache}/converge/kube-assets/<version>`.
 */
export function kubeAssetsCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.CONVERGE_KUBE_ASSETS_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'converge', 'kube-assets');
  return join(root, version);
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds `etcd`, `kube-apiserver` and (optionally) `kubectl`: in `options.assetsDir`, else in
 * `KUBEBUILDER_ASSETS` (controller-runtime envtest's variable), else in the cache the build script
 * fills. Throws {@link KubeAssetsNotFoundError} telling the user what to run when none has them.
 *
 * @example
 * ```ts
 * const assets = await locateKubeAssets();
 * console.log(assets.kubeApiserver);
 * ```
 */
export async function locateKubeAssets(options: LocateKubeAssetsOptions = {}): Promise<KubeAssets> {
  const env = options.env ?? process.env;
  let dir: string;
  let origin: KubeAssets['origin'];
  if (options.assetsDir) {
    dir = options.assetsDir;
    origin = 'option';
  } else if (env.KUBEBUILDER_ASSETS) {
    dir = env.KUBEBUILDER_ASSETS;
    origin = 'KUBEBUILDER_ASSETS';
  } else {
    dir = kubeAssetsCacheDir(await kubeAssetsVersion(), env);
    origin = 'cache';
  }
  const etcd = join(dir, 'etcd');
  const kubeApiserver = join(dir, 'kube-apiserver');
  const kubectl = join(dir, 'kubectl');
  const missing = [];
  if (!(await executable(etcd))) missing.push('etcd');
  if (!(await executable(kubeApiserver))) missing.push('kube-apiserver');
  if (missing.length > 0) {
    const where = origin === 'cache' ? `the kube-testenv asset cache ${dir}` : `${dir} (from ${origin === 'option' ? 'the assetsDir option' : 'KUBEBUILDER_ASSETS'})`;
    throw new KubeAssetsNotFoundError(
      `no executable ${missing.join(' or ')} in ${where}. Build them once with \`${BUILD_ASSETS_COMMAND}\` ` +
        '(needs Go 1.26+, takes several minutes), or set KUBEBUILDER_ASSETS to a directory of envtest binaries.',
      { data: { dir, origin, missing } },
    );
  }
  return { dir, etcd, kubeApiserver, ...((await executable(kubectl)) && { kubectl }), origin };
}
