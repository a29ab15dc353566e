import { type KubeObject, type Renderer, ConvergeError, toConvergeError } from '@converge/core';
import { parseChartLocation } from './chart-location.js';
import { CliEngine } from './cli-engine.js';
import type { ChartFile, HelmEngine, ValuesDocument } from './engine.js';
import { HelmError, helmError } from './errors.js';
import { type HelmChartOptions, resolveHelmChartOptions, type ResolvedHelmChartOptions } from './helm-chart-options.js';
import { chartFromArtifact } from './internal/artifact-chart.js';
import { parseHelmOutput } from './internal/parse-helm-output.js';
import { remoteChart } from './internal/remote-chart.js';
import { defaultWasmEngine } from './wasm-engine.js';

/**
 * A renderer for a Helm chart, rendered the way `helm template` renders it, by Helm's own
 * engine: by default Helm v4 compiled to WebAssembly and run in-process (no `helm` binary,
 * no subprocess, no file or network access beyond the chart and values given), or a `helm`
 * binary with `engine: 'cli'`.
 *
 * The chart comes from the artifact (a folder with its subcharts vendored in `charts/`, or a
 * `.tgz`), a Helm repository, or an OCI registry (see {@link HelmChartOptions.chart}).
 * Values are merged in Helm's order: the chart's `values.yaml`, then each of `valuesFiles`,
 * then `values`. The output is parsed into objects in Helm's install order (CRDs first when
 * included, hooks last); each object's origin is the template that produced it.
 *
 * Errors are {@link HelmError}s; a template error carries the file and line Helm reports in
 * `data.position`.
 *
 * @example
 * ```ts
 * const render = helmChart({
 *   chart: 'deploy/charts/web',
 *   releaseName: 'web',
 *   namespace: 'web',
 *   valuesFiles: ['deploy/values/prod.yaml'],
 *   values: { image: { tag: '1.4.2' } },
 *   kubeVersion: '1.33.0',
 * });
 * const objects = await render({ artifact });
 * ```
 */
export function helmChart(options: HelmChartOptions): Renderer {
  const o = resolveHelmChartOptions(options);
  validate(o);
  const location = parseChartLocation(o.chart);
  let engine: HelmEngine | undefined = typeof o.engine === 'object' ? o.engine : undefined;

  return async ({ artifact, signal }): Promise<KubeObject[]> => {
    try {
      signal?.throwIfAborted();
      const files: ChartFile[] =
        location.kind === 'artifact'
          ? await chartFromArtifact(artifact.files, location.path, signal)
          : await remoteChart(location, o.version, o.repository, signal);

      const values: ValuesDocument[] = [];
      for (const path of o.valuesFiles) {
        try {
          values.push({ name: path, data: await artifact.files.read(path) });
        } catch (err) {
          throw helmError('HELM_VALUES_INVALID', `values file ${path} not found in the artifact`, { position: { file: path } }, err);
        }
      }
      if (o.values) values.push({ name: 'values', data: new TextEncoder().encode(JSON.stringify(o.values)) });

      engine ??= o.engine === 'cli' ? new CliEngine(o.helmPath ? { helmPath: o.helmPath } : {}) : defaultWasmEngine();
      const out = await engine.render({
        files,
        values,
        releaseName: o.releaseName,
        namespace: o.namespace,
        kubeVersion: o.kubeVersion,
        apiVersions: o.apiVersions,
        includeCRDs: o.includeCRDs,
        skipTests: o.skipTests,
        disableHooks: o.skipHooks,
        isUpgrade: o.isUpgrade,
        skipSchemaValidation: o.skipSchemaValidation,
        maxOutputBytes: o.maxOutputBytes,
        timeout: o.timeout,
        signal,
        lookup: o.lookup,
      });
      return parseHelmOutput(out.manifest, o.chart);
    } catch (err) {
      throw withChart(err, o.chart);
    }
  };
}

function validate(o: ResolvedHelmChartOptions): void {
  const bad = (why: string) => helmError('HELM_INVALID_OPTIONS', `helmChart: ${why}`);
  if (typeof o.chart !== 'string') throw bad('chart is required');
  if (!o.releaseName) throw bad('releaseName is required');
  if (!(o.maxOutputBytes > 0)) throw bad('maxOutputBytes must be a positive number');
  if (!(o.timeout > 0)) throw bad('timeout must be a positive number');
  if (o.engine !== 'wasm' && o.engine !== 'cli' && typeof o.engine?.render !== 'function') {
    throw bad(`engine must be 'wasm', 'cli' or a HelmEngine`);
  }
  if (o.lookup && o.engine === 'cli') throw bad('lookup needs the wasm engine: `helm template` never looks objects up');
}

/**
 * Every error leaves naming the chart, in `data.chart` and at the start of the message:
 * Helm errors keep their code, other errors become ConvergeErrors.
 */
function withChart(err: unknown, chart: string): ConvergeError {
  if (!(err instanceof HelmError)) return toConvergeError(err);
  const prefix = `helm chart ${chart}: `;
  if (err.message.startsWith(prefix)) return err;
  return new HelmError(err.code, prefix + err.message, { data: { ...err.data, chart }, ...(err.cause === undefined ? {} : { cause: err.cause }) });
}
