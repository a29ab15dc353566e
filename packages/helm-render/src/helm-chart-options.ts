import type { HelmEngine } from './engine.js';
import type { HelmLookup } from './lookup.js';
import type { HelmPostRenderer } from './post-renderer.js';

/** Credentials and transport for a Helm repository or an OCI registry. */
export interface ChartRepositoryOptions {
  /** Basic auth user name. */
  username?: string;
  /** Basic auth password (or registry token used as password). */
  password?: string;
  /** Bearer token for a Helm HTTP repository. */
  token?: string;
  /**
   * Use `http://` instead of `https://` for `oci://` references (a registry on loopback).
   * @default false
   */
  plainHttp?: boolean;
  /**
   * Folder where downloaded charts are cached by digest, outside any clone.
   * @default `${XDG_CACHE_HOME:-~/.cache}/converge/helm-charts`
   */
  cacheDir?: string;
  /**
   * The `fetch` used for every request (pass one in to add a proxy, a CA, or a test double).
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
}

/**
 * Options of {@link helmChart}. Everything but `chart` and `releaseName` has a default,
 * chosen to match `helm template` except where a reconciler needs otherwise (CRDs are
 * included and test hooks left out by default).
 */
export interface HelmChartOptions {
  /**
   * Which chart to render:
   * - a folder or `.tgz` file in the artifact, e.g. `charts/web` (subcharts vendored in its `charts/`);
   * - a chart in a Helm repository, as `<repository URL>/<chart name>`, e.g. `https://charts.example.com/stable/web`;
   * - a direct `https://…/web-1.2.3.tgz` URL;
   * - an OCI reference, e.g. `oci://registry.example.com/charts/web`.
   */
  chart: string;
  /**
   * Version or semver range of a repository or OCI chart (e.g. `1.2.3`, `^1.2`, `>=1 <2`).
   * Not used for charts in the artifact: the artifact's revision pins them.
   * @default the newest stable version
   */
  version?: string;
  /** `.Release.Name`. */
  releaseName: string;
  /**
   * `.Release.Namespace`.
   * @default 'default'
   */
  namespace?: string;
  /** Values, merged after `valuesFiles` (like `--values` given last). */
  values?: Record<string, unknown>;
  /**
   * Values files, paths in the artifact from its root, merged in order after the chart's
   * own `values.yaml` (like `helm template -f a.yaml -f b.yaml`).
   * @default []
   */
  valuesFiles?: string[];
  /**
   * Render the chart's `crds/` folder too, before the templates (`--include-crds`).
   * @default true
   */
  includeCRDs?: boolean;
  /**
   * Leave out `helm.sh/hook: test` objects (`--skip-tests`).
   * @default true
   */
  skipTests?: boolean;
  /**
   * Leave out every hook object (`--no-hooks`). Hooks are otherwise rendered as plain
   * objects after the others: Converge applies them, it does not run them as hooks.
   * @default false
   */
  skipHooks?: boolean;
  /**
   * `.Capabilities.KubeVersion`, e.g. `1.33.0`. Set it to your cluster's version.
   * @default the engine's Helm default (for Helm 4, derived from its client-go version)
   */
  kubeVersion?: string;
  /**
   * Extra `.Capabilities.APIVersions`, e.g. `['monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/ServiceMonitor']`.
   * @default []
   */
  apiVersions?: string[];
  /**
   * Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
   * @default false
   */
  isUpgrade?: boolean;
  /**
   * Skip `values.schema.json` validation.
   * @default false
   */
  skipSchemaValidation?: boolean;
  /**
   * `'wasm'` (Helm's engine in-process, no binary needed), `'cli'` (a `helm` binary), or an
   * engine instance.
   * @default 'wasm'
   */
  engine?: 'wasm' | 'cli' | HelmEngine;
  /**
   * The `helm` binary for `engine: 'cli'`.
   * @default `$CONVERGE_HELM_BIN`, else `helm` from `PATH`
   */
  helmPath?: string;
  /**
   * Upper bound on the memory one render may use, in bytes. For the wasm engine this is a
   * hard cap on the engine's whole memory (Go heap, goroutine stacks, the chart), enforced by
   * the WebAssembly runtime; for the cli engine, on the resident memory of the `helm` process
   * (sampled every 50 ms on Linux). A render that needs more fails with `ENGINE_MEMORY_LIMIT`
   * and the engine is replaced. At most 4 GiB (the most a 32-bit WebAssembly memory holds).
   *
   * Renders with different values run in differently compiled engines: keep one value per
   * process where you can.
   * @default 536870912 (512 MiB)
   */
  maxMemoryBytes?: number;
  /**
   * Upper bound on the rendered output, in bytes. A larger output fails with
   * `ENGINE_OUTPUT_LIMIT`. The wasm engine builds the output in its memory before measuring
   * it, so an output far beyond this bound may fail with `ENGINE_MEMORY_LIMIT` first.
   * @default 67108864 (64 MiB)
   */
  maxOutputBytes?: number;
  /**
   * Upper bound on one render, in milliseconds (from the moment the engine starts it; the
   * wasm engine's cold start is not counted). A slower render fails with `ENGINE_TIMEOUT` and
   * the engine is stopped (the wasm engine's process or the `helm` process killed).
   * @default 60000
   */
  timeoutMs?: number;
  /**
   * Credentials, cache and transport for repository and OCI charts. Its `cacheDir`, `fetch`
   * and `plainHttp` also apply to the repositories of the chart's dependencies; its
   * credentials never do (see `dependencyRepositories`).
   */
  repository?: ChartRepositoryOptions;
  /**
   * Credentials and settings for the repositories that the chart's `dependencies:` name, by
   * repository URL as written in `Chart.yaml` (`https://…` or `oci://…`), like
   * `helm repo add --username/--password` before `helm dependency build`. A dependency
   * repository without an entry is read anonymously.
   * @default {}
   */
  dependencyRepositories?: Record<string, ChartRepositoryOptions>;
  /**
   * Answers the `lookup` template function (wasm engine only).
   * @default none: `lookup` returns empty results, as in `helm template`
   */
  lookup?: HelmLookup;
  /**
   * Post-renderers applied in order to the rendered manifests before they are parsed (Flux's
   * HelmRelease `postRenderers`), e.g. `kustomizePostRenderer()` from `@converge/kustomize`.
   * @default []
   */
  postRender?: HelmPostRenderer | HelmPostRenderer[];
}

/**
 * The bounds a render runs within when {@link HelmChartOptions} does not set them. The engine
 * starts at about 34 MiB; 512 MiB leaves room for large charts (and for the output cap: Go
 * holds several copies of the output while assembling it) while keeping a runaway template
 * to a bounded cost.
 */
export const DEFAULT_RENDER_LIMITS = {
  maxMemoryBytes: 512 * 1024 * 1024,
  maxOutputBytes: 64 * 1024 * 1024,
  timeoutMs: 60_000,
} as const;

/** {@link HelmChartOptions} with every default filled in. */
export interface ResolvedHelmChartOptions
  extends Required<Omit<HelmChartOptions, 'version' | 'values' | 'kubeVersion' | 'helmPath' | 'repository' | 'lookup' | 'dependencyRepositories' | 'postRender'>> {
  version: string | undefined;
  values: Record<string, unknown> | undefined;
  kubeVersion: string;
  helmPath: string | undefined;
  repository: ChartRepositoryOptions;
  dependencyRepositories: Record<string, ChartRepositoryOptions>;
  lookup: HelmLookup | undefined;
  postRender: HelmPostRenderer[];
}

/** Fills in the defaults of {@link HelmChartOptions}, in one place. */
export function resolveHelmChartOptions(o: HelmChartOptions): ResolvedHelmChartOptions {
  return {
    chart: o.chart,
    version: o.version,
    releaseName: o.releaseName,
    namespace: o.namespace ?? 'default',
    values: o.values,
    valuesFiles: o.valuesFiles ?? [],
    includeCRDs: o.includeCRDs ?? true,
    skipTests: o.skipTests ?? true,
    skipHooks: o.skipHooks ?? false,
    kubeVersion: o.kubeVersion ?? '',
    apiVersions: o.apiVersions ?? [],
    isUpgrade: o.isUpgrade ?? false,
    skipSchemaValidation: o.skipSchemaValidation ?? false,
    engine: o.engine ?? 'wasm',
    helmPath: o.helmPath,
    maxMemoryBytes: o.maxMemoryBytes ?? DEFAULT_RENDER_LIMITS.maxMemoryBytes,
    maxOutputBytes: o.maxOutputBytes ?? DEFAULT_RENDER_LIMITS.maxOutputBytes,
    timeoutMs: o.timeoutMs ?? DEFAULT_RENDER_LIMITS.timeoutMs,
    repository: o.repository ?? {},
    dependencyRepositories: o.dependencyRepositories ?? {},
    lookup: o.lookup,
    postRender: o.postRender === undefined ? [] : Array.isArray(o.postRender) ? o.postRender : [o.postRender],
  };
}
