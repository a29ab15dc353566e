import { type KubeObject, type Renderer, ConvergeError, setDefaultNamespace, toConvergeError } from '@converge/core';
import { parseChartLocation } from './chart-location.js';
import { CliEngine } from './cli-engine.js';
import type { ChartFile, HelmEngine, ValuesDocument } from './engine.js';
import { HelmError, helmError } from './errors.js';
import { type HelmChartOptions, resolveHelmChartOptions, type ResolvedHelmChartOptions } from './helm-chart-options.js';
import { chartFromArtifact } from './internal/artifact-chart.js';
import { localChartReader, withDependencies } from './internal/chart-dependencies.js';
import { parseHelmOutput } from './internal/parse-helm-output.js';
import { remoteChart } from './internal/remote-chart.js';
import { WASM32_MAX_BYTES } from '@converge/wasm-host';
import { defaultWasmEngine } from './wasm-engine.js';

/**
 * A renderer for a Helm chart, rendered the way `helm template` renders it, by Helm's own
 * engine: by default Helm v4 compiled to WebAssembly and run in-process (no `helm` binary,
 * no subprocess, no file or network access beyond the chart and values given), or a `helm`
 * binary with `engine: 'cli'`.
 *
 * The chart comes from the artifact (a folder or a `.tgz`), a Helm repository, or an OCI
 * registry (see {@link HelmChartOptions.chart}). Dependencies that `Chart.yaml` names and
 * `charts/` does not hold are fetched as `helm dependency build` fetches them: the versions
 * of `Chart.lock` when there is one (its digest checked), else the newest matching each
 * constraint; from Helm repositories, OCI registries and `file://` folders, cached by digest
 * (credentials in {@link HelmChartOptions.dependencyRepositories}). Vendored subcharts are
 * used as they are.
 * Values are merged in Helm's order: the chart's `values.yaml`, then each of `valuesFiles`,
 * then `values`. The output is parsed into objects in Helm's install order (CRDs first when
 * included, hooks last); each object's origin is the template that produced it.
 *
 * Objects whose template names no namespace get the release namespace recorded beside them
 * (`defaultNamespaceOf` from `@converge/core`), not written into them: the runtime applies it
 * once discovery says the kind is namespaced, as `helm install -n` does.
 *
 * Every render is bounded by `maxMemoryBytes`, `maxOutputBytes` and `timeoutMs` (512 MiB,
 * 64 MiB and 60 s by default); a chart that runs away fails with `ENGINE_MEMORY_LIMIT`,
 * `ENGINE_OUTPUT_LIMIT` or `ENGINE_TIMEOUT` and the engine is replaced for the next render.
 *
 * Errors are {@link HelmError}s naming the chart; a template error carries the file and line
 * Helm reports in `data.position`.
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
      const chartFiles: ChartFile[] =
        location.kind === 'artifact'
          ? await chartFromArtifact(artifact.files, location.path, signal)
          : await remoteChart(location, o.version, o.repository, signal);
      const files = await withDependencies(chartFiles, {
        local: localChartReader(location, artifact.files, chartFiles, signal),
        repository: o.repository,
        dependencyRepositories: o.dependencyRepositories,
        signal,
      });

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
        maxMemoryBytes: o.maxMemoryBytes,
        maxOutputBytes: o.maxOutputBytes,
        timeoutMs: o.timeoutMs,
        signal,
        lookup: o.lookup,
      });
      let manifest = out.manifest;
      for (const postRender of o.postRender) {
        signal?.throwIfAborted();
        manifest = await postRender(manifest, { chart: o.chart, releaseName: o.releaseName, namespace: o.namespace, signal });
      }
      const objects = parseHelmOutput(manifest, o.chart);
      // `helm install -n` puts a namespaced object that names no namespace into the release
      // namespace. Only the runtime knows (from discovery) which kinds are namespaced, so the
      // namespace is recorded beside the object, not written into it: a ClusterRole or a
      // Namespace must stay without one.
      for (const obj of objects) if (!obj.metadata.namespace) setDefaultNamespace(obj, o.namespace);
      return objects;
    } catch (err) {
      throw withChart(err, o.chart);
    }
  };
}

/** The longest delay `setTimeout` honours (a larger one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function validate(o: ResolvedHelmChartOptions): void {
  const bad = (why: string) => helmError('HELM_INVALID_OPTIONS', `helmChart: ${why}`);
  if (typeof o.chart !== 'string') throw bad('chart is required');
  if (!o.releaseName) throw bad('releaseName is required');
  if (!(Number.isSafeInteger(o.maxMemoryBytes) && o.maxMemoryBytes > 0 && o.maxMemoryBytes <= WASM32_MAX_BYTES)) {
    throw bad(`maxMemoryBytes must be a whole number of bytes from 1 to ${WASM32_MAX_BYTES} (4 GiB), not ${o.maxMemoryBytes}`);
  }
  if (!(Number.isSafeInteger(o.maxOutputBytes) && o.maxOutputBytes > 0)) throw bad(`maxOutputBytes must be a positive whole number of bytes, not ${o.maxOutputBytes}`);
  if (!(o.timeoutMs > 0 && o.timeoutMs <= MAX_TIMER_MS)) throw bad(`timeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, not ${o.timeoutMs}`);
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
