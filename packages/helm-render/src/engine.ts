import type { HelmLookup } from './lookup.js';

/** One file of a chart, named relative to the chart root with `/` separators. */
export interface ChartFile {
  /** e.g. `Chart.yaml`, `templates/deployment.yaml`, `charts/redis-1.2.3.tgz`. */
  name: string;
  data: Uint8Array;
}

/** One values document (YAML or JSON), merged in order like `helm template -f a -f b`. */
export interface ValuesDocument {
  /** Shown in error messages, e.g. `values/prod.yaml`. */
  name: string;
  data: Uint8Array;
}

/** What an engine renders: a loaded chart plus the `helm template` settings. */
export interface RenderRequest {
  files: ChartFile[];
  values: ValuesDocument[];
  releaseName: string;
  namespace: string;
  /** Kubernetes version for `.Capabilities.KubeVersion`; empty for the engine's default. */
  kubeVersion: string;
  /** Extra API versions for `.Capabilities.APIVersions` (`helm template --api-versions`). */
  apiVersions: string[];
  includeCRDs: boolean;
  skipTests: boolean;
  /** Leave hooks out of the output (`helm template --no-hooks`). */
  disableHooks: boolean;
  isUpgrade: boolean;
  skipSchemaValidation: boolean;
  /**
   * Upper bound on the memory the engine may use for this render, in bytes: the wasm
   * engine's whole linear memory (heap, stacks, the chart), a hard cap; the peak resident
   * memory of the `helm` process for the cli engine (sampled). Exceeding it is
   * `ENGINE_MEMORY_LIMIT`.
   */
  maxMemoryBytes: number;
  /** Upper bound on the rendered output, in bytes. Exceeding it is `ENGINE_OUTPUT_LIMIT`. */
  maxOutputBytes: number;
  /** Upper bound on one render, in milliseconds. Exceeding it is `ENGINE_TIMEOUT`. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Answers `lookup` in templates (wasm engine only); empty results without it. */
  lookup?: HelmLookup | undefined;
}

/** What an engine returns: `helm template`'s standard output and what came with it. */
export interface RenderOutput {
  /** Byte for byte what `helm template` prints. */
  manifest: string;
  /** The rendered `NOTES.txt` of the top-level chart (empty for the CLI engine). */
  notes: string;
  /** Warnings Helm printed (e.g. a deprecated chart). */
  warnings: string[];
}

/**
 * A way to run Helm's template engine: in-process WebAssembly ({@link WasmEngine}) or
 * a `helm` binary ({@link CliEngine}). Both produce the same output for the same request.
 */
export interface HelmEngine {
  /** Renders one chart. Rejects with a `HelmError`. */
  render(request: RenderRequest): Promise<RenderOutput>;
  /** Releases what the engine holds (its process, temp dirs). Idempotent. */
  close(): Promise<void>;
}
