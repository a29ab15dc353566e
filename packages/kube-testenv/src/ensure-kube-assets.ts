import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeAssetsNotFoundError } from './errors.js';
import { locateKubeAssets, type KubeAssets, type LocateKubeAssetsOptions } from './assets.js';

const buildScript = join(fileURLToPath(new URL('..', import.meta.url)), 'scripts', 'build-assets.sh');

/** Options of {@link ensureKubeAssets}. */
export interface EnsureKubeAssetsOptions extends LocateKubeAssetsOptions {
  /** Receives each line the build prints (which binary, elapsed time). @default the lines go to stderr */
  onOutput?: (line: string) => void;
}

/**
 * The control-plane binaries, built first if they are missing: {@link locateKubeAssets}, and
 * when that finds none in the cache, the package's `scripts/build-assets.sh` (Go 1.26+, several
 * minutes the first time; cached in `~/.cache/converge/kube-assets` afterwards). Binaries given
 * by `assetsDir` or `KUBEBUILDER_ASSETS` are never built: a missing one there is an error.
 *
 * @example
 * ```ts
 * await ensureKubeAssets({ onOutput: (line) => console.log(`  ${line}`) });
 * const env = await startTestEnv();
 * ```
 */
export async function ensureKubeAssets(options: EnsureKubeAssetsOptions = {}): Promise<KubeAssets> {
  try {
    return await locateKubeAssets(options);
  } catch (error) {
    const origin = (error as KubeAssetsNotFoundError).data?.['origin'];
    if (!(error instanceof KubeAssetsNotFoundError) || origin !== 'cache') throw error;
  }
  await runBuild(options);
  return locateKubeAssets(options);
}

function runBuild(options: EnsureKubeAssetsOptions): Promise<void> {
  const onOutput = options.onOutput ?? ((line: string) => process.stderr.write(`${line}\n`));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript], { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail: string[] = [];
    const lines = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        tail = [...tail, line].slice(-20);
        onOutput(line);
      }
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new KubeAssetsNotFoundError(`building the control-plane binaries failed (exit ${code}):\n${tail.join('\n')}`, { data: { script: buildScript, exitCode: code } })),
    );
  });
}
