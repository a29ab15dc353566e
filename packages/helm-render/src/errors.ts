import { ConvergeError, type ConvergeErrorOptions, type FilePosition } from '@converge/core';

/**
 * The failure kinds of `@converge/helm-render`, as `ConvergeError.code` values.
 *
 * - `HELM_CHART_NOT_FOUND` — no chart at the path, URL or version asked for.
 * - `HELM_CHART_INVALID` — the chart cannot be loaded (bad `Chart.yaml`, library chart, …).
 * - `HELM_DEPENDENCY_MISSING` — `Chart.yaml` names a dependency that `charts/` lacks.
 * - `HELM_DEPENDENCY_UNRESOLVED` — a dependency `Chart.yaml` names, not vendored in `charts/`,
 *   cannot be fetched: its repository cannot be read, it has no version matching the
 *   constraint, or its `file://` folder is missing. `data.dependency`, `data.version` and
 *   `data.repository` (never with credentials) name it; `cause` says why.
 * - `HELM_DEPENDENCY_LOCK_OUTDATED` — `Chart.lock` does not match the dependencies of
 *   `Chart.yaml` (its digest differs): run `helm dependency update` and commit the lock.
 * - `HELM_VALUES_INVALID` — a values file is not valid YAML, or values could not be coalesced.
 * - `HELM_VALUES_SCHEMA` — values do not satisfy the chart's `values.schema.json`.
 * - `HELM_TEMPLATE_ERROR` — a template failed to parse or execute (`fail`, `required`, …).
 * - `HELM_MANIFEST_INVALID` — a rendered manifest is not valid YAML or not a Kubernetes object.
 * - `HELM_KUBE_VERSION_INCOMPATIBLE` — the chart's `kubeVersion` excludes the target version.
 * - `ENGINE_MEMORY_LIMIT` — the engine needed more memory than `maxMemoryBytes` (a template
 *   that recurses or loops without bound); the engine was stopped and is replaced.
 * - `ENGINE_OUTPUT_LIMIT` — the rendered output exceeds `maxOutputBytes`.
 * - `ENGINE_TIMEOUT` — the render took longer than `timeoutMs`; the engine was stopped and is replaced.
 * - `HELM_ENGINE_FAILED` — the engine itself failed (crash, missing wasm, helm binary error).
 * - `HELM_REPOSITORY_ERROR` — a Helm repository or OCI registry could not be read.
 * - `HELM_DIGEST_MISMATCH` — a downloaded chart does not match its published digest.
 * - `HELM_ARCHIVE_UNSAFE` — a chart archive holds paths outside its root (`../`, absolute, links).
 * - `HELM_INVALID_OPTIONS` — the options given to `helmChart` are inconsistent.
 *
 * The three `ENGINE_*` codes are the bounds every engine-backed renderer enforces (rule 10 of
 * the design); `data.limit` names the option and `data.limitValue` its value.
 */
export type HelmErrorCode =
  | 'HELM_CHART_NOT_FOUND'
  | 'HELM_CHART_INVALID'
  | 'HELM_DEPENDENCY_MISSING'
  | 'HELM_DEPENDENCY_UNRESOLVED'
  | 'HELM_DEPENDENCY_LOCK_OUTDATED'
  | 'HELM_VALUES_INVALID'
  | 'HELM_VALUES_SCHEMA'
  | 'HELM_TEMPLATE_ERROR'
  | 'HELM_MANIFEST_INVALID'
  | 'HELM_KUBE_VERSION_INCOMPATIBLE'
  | 'ENGINE_MEMORY_LIMIT'
  | 'ENGINE_OUTPUT_LIMIT'
  | 'ENGINE_TIMEOUT'
  | 'HELM_ENGINE_FAILED'
  | 'HELM_REPOSITORY_ERROR'
  | 'HELM_DIGEST_MISMATCH'
  | 'HELM_ARCHIVE_UNSAFE'
  | 'HELM_INVALID_OPTIONS';

/**
 * Every error `@converge/helm-render` reports. `code` tells the kind apart (see
 * {@link HelmErrorCode}); `data.chart` names the chart and, for template errors,
 * `data.position` has the template file and line as Helm reports them
 * (e.g. `mychart/templates/deployment.yaml`, line 12).
 *
 * @example
 * ```ts
 * try { await render({ artifact }); } catch (e) {
 *   if (e instanceof HelmError && e.code === 'HELM_TEMPLATE_ERROR') console.error(e.data.position);
 * }
 * ```
 */
export class HelmError extends ConvergeError {
  declare readonly code: HelmErrorCode;

  constructor(code: HelmErrorCode, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }

  /** The template file and line Helm reported, if any. */
  get position(): FilePosition | undefined {
    return this.data.position;
  }
}

/** Shorthand for a {@link HelmError}; keeps call sites on one line. */
export function helmError(
  code: HelmErrorCode,
  message: string,
  data: ConvergeErrorOptions['data'] = {},
  cause?: unknown,
): HelmError {
  return new HelmError(code, message, { data, ...(cause === undefined ? {} : { cause }) });
}
