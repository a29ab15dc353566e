import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AbortedError } from '@converge/core';
import type { HelmEngine, RenderOutput, RenderRequest } from './engine.js';
import { helmError } from './errors.js';
import { runBounded } from './internal/bounded-process.js';
import { classifyHelmMessage, engineError } from './internal/engine-error.js';
import { safeRelativePath } from './internal/safe-path.js';

/** Options of {@link CliEngine}. */
export interface CliEngineOptions {
  /**
   * The `helm` binary to run (Helm 3.x or 4.x).
   * @default `$CONVERGE_HELM_BIN`, else `helm` from `PATH`
   */
  helmPath?: string;
  /**
   * Folder for the temporary chart and values files of each render.
   * @default `os.tmpdir()`
   */
  tmpDir?: string;
}

/**
 * Renders with a `helm` binary: `helm template` run with `execFile` (no shell), the chart and
 * values written to a temporary folder that is removed afterwards. Helm runs with its own
 * empty config, cache and data folders and no kubeconfig, so it cannot read the user's
 * repositories or reach a cluster. Use it to pin the exact Helm version you installed.
 *
 * Each render has the request's bounds: the process is killed (`SIGKILL`) when it runs longer
 * than `timeoutMs`, writes more than `maxOutputBytes`, or its resident memory exceeds
 * `maxMemoryBytes` (sampled every 50 ms, Linux only), and the render fails with
 * `ENGINE_TIMEOUT`, `ENGINE_OUTPUT_LIMIT` or `ENGINE_MEMORY_LIMIT`.
 *
 * @example
 * ```ts
 * const render = helmChart({ chart: 'charts/web', releaseName: 'web', engine: new CliEngine({ helmPath: '/usr/local/bin/helm' }) });
 * ```
 */
export class CliEngine implements HelmEngine {
  readonly helmPath: string;
  readonly #tmpDir: string | undefined;

  constructor(options: CliEngineOptions = {}) {
    this.helmPath = options.helmPath ?? process.env['CONVERGE_HELM_BIN'] ?? 'helm';
    this.#tmpDir = options.tmpDir;
  }

  /** {@inheritDoc HelmEngine.render} */
  async render(request: RenderRequest): Promise<RenderOutput> {
    if (request.signal?.aborted) throw new AbortedError('helm render aborted');
    if (request.lookup) throw helmError('HELM_INVALID_OPTIONS', 'the cli engine cannot answer lookup: `helm template` never looks objects up');
    const dir = await mkdtemp(join(this.#tmpDir ?? tmpdir(), 'converge-helm-'));
    try {
      const chartDir = join(dir, 'chart');
      for (const file of request.files) {
        const path = join(chartDir, safeRelativePath(file.name));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.data);
      }
      const args = ['template', request.releaseName, chartDir, '--namespace', request.namespace];
      if (request.kubeVersion) args.push('--kube-version', request.kubeVersion);
      for (const api of request.apiVersions) args.push('--api-versions', api);
      if (request.includeCRDs) args.push('--include-crds');
      if (request.skipTests) args.push('--skip-tests');
      if (request.disableHooks) args.push('--no-hooks');
      if (request.isUpgrade) args.push('--is-upgrade');
      if (request.skipSchemaValidation) args.push('--skip-schema-validation');
      for (const [i, values] of request.values.entries()) {
        const path = join(dir, `values-${i}.yaml`);
        await writeFile(path, values.data);
        args.push('--values', path);
      }
      const home = join(dir, 'home');
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: home,
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_DATA_HOME: join(home, 'data'),
        KUBECONFIG: join(home, 'no-kubeconfig'),
        // Go's soft limit: the collector works harder before the memory bound kills helm.
        GOMEMLIMIT: String(Math.floor((request.maxMemoryBytes / 4) * 3)),
      };
      const stdout = await this.#run(args, { cwd: dir, env, request });
      return { manifest: stdout, notes: '', warnings: [] };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Nothing to release: every render cleans up after itself. */
  async close(): Promise<void> {}

  async #run(args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; request: RenderRequest }): Promise<string> {
    const { request } = o;
    const result = await runBounded(this.helmPath, args, { cwd: o.cwd, env: o.env, limits: request, signal: request.signal });
    if (result.ok) return result.stdout;
    if (result.signal) {
      throw helmError('HELM_ENGINE_FAILED', `helm template was killed by ${result.signal}`, { signal: result.signal });
    }
    const message = helmErrorMessage(result.stderr);
    throw engineError(classifyHelmMessage(message), message, request);
  }
}

/** Helm's own message from its stderr: from `Error: ` on, without the `--debug` hint. */
function helmErrorMessage(stderr: string): string {
  const at = stderr.search(/^Error: /m);
  const text = at >= 0 ? stderr.slice(at + 'Error: '.length) : stderr;
  return text.replace(/\n+Use --debug flag to render out invalid YAML\s*$/, '').trim() || 'helm template failed';
}
