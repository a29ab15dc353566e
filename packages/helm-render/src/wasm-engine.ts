import { join } from 'node:path';
import { WasmHost, type EngineLifetimeOptions, type InfoOptions, type WasmHostStats } from '@converge/wasm-host';
import type { HelmEngine, RenderOutput, RenderRequest } from './engine.js';
import { helmError, type HelmError } from './errors.js';
import { DEFAULT_RENDER_LIMITS } from './helm-chart-options.js';
import { engineError, hostError } from './internal/engine-error.js';
import { packageRoot } from './internal/package-root.js';
import type { LookupQuery } from './lookup.js';

/**
 * Options of {@link WasmEngine}. When it lets go of its memory between renders (idle release,
 * recycling a process a large render left big) is in `EngineLifetimeOptions`.
 */
export interface WasmEngineOptions extends EngineLifetimeOptions {
  /**
   * Path of the engine's `.wasm` file.
   * @default the `wasm/helm-engine.wasm` shipped in this package (or `$CONVERGE_HELM_WASM`)
   */
  wasmPath?: string;
}

/** Versions compiled into the wasm engine. */
export interface WasmEngineInfo {
  /** e.g. `v4.3.1`. */
  helmVersion: string;
  /** The Go release it was compiled with. */
  goVersion: string;
  /** `.Capabilities.KubeVersion` when a render does not set `kubeVersion`, e.g. `v1.37.0`. */
  defaultKubeVersion: string;
}

type EngineReply =
  | { ok: true; result: { manifest: string; notes: string; warnings: string[] } }
  | { ok: false; error: { kind: string; message: string } };

/**
 * Helm's own template engine (Helm v4, Go) compiled to WebAssembly, run by
 * `@converge/wasm-host` in one child process of its own that is reused across renders.
 * Renders are queued and run one at a time.
 *
 * Every render is bounded (see {@link RenderRequest}): its memory by the maximum declared on
 * the module's memory (`maxMemoryBytes`, patched in before compiling, so `memory.grow` past it
 * fails and Go dies with "out of memory"; the Go side also limits goroutine stacks and tells
 * its collector the limit), its output by `maxOutputBytes`, its time by `timeoutMs`. A render
 * that breaks a bound, crashes the engine, or is aborted kills the engine's process and fails with
 * a typed error (`ENGINE_MEMORY_LIMIT`, `ENGINE_OUTPUT_LIMIT`, `ENGINE_TIMEOUT`,
 * `HELM_ENGINE_FAILED`, or an `AbortedError`); the next render starts a new process, so a
 * runaway chart never takes the host's process down or poisons the renders after it.
 *
 * Between renders it lets go of memory: after `idleTimeoutMs` (30 s) without a render the
 * engine's process is stopped (the next render starts one again in about 1 s), and a process
 * whose WebAssembly memory a render left above `recycleAboveMemoryBytes` (128 MiB) is replaced
 * before the next render. A process that exits gives the system back all it held.
 * {@link WasmEngine.stats} says what it holds.
 *
 * The Go program has no file system, network or environment: it sees only the chart files
 * and values passed in. `lookup` returns empty results, as in `helm template`, unless the
 * render has a `lookup` reader.
 *
 * Most users never construct one: `helmChart()` uses a shared instance
 * ({@link defaultWasmEngine}).
 *
 * @example
 * ```ts
 * const engine = new WasmEngine();
 * const render = helmChart({ chart: 'charts/web', releaseName: 'web', engine });
 * // …
 * await engine.close();
 * ```
 */
export class WasmEngine implements HelmEngine {
  readonly #host: WasmHost<HelmError>;

  /** @throws InvalidOptionsError (`INVALID_OPTIONS`) for a negative or non-numeric `idleTimeoutMs` or `recycleAboveMemoryBytes`. */
  constructor(options: WasmEngineOptions = {}) {
    const root = packageRoot();
    this.#host = new WasmHost({
      engineName: 'Helm',
      wasmPath: options.wasmPath ?? process.env['CONVERGE_HELM_WASM'] ?? join(root, 'wasm', 'helm-engine.wasm'),
      wasmExecPath: join(root, 'wasm', 'wasm_exec.js'),
      globalName: 'convergeHelmEngine',
      toError: hostError,
      defaultMaxMemoryBytes: DEFAULT_RENDER_LIMITS.maxMemoryBytes,
      idleTimeoutMs: options.idleTimeoutMs,
      recycleAboveMemoryBytes: options.recycleAboveMemoryBytes,
      clock: options.clock,
    });
  }

  /** Starts the engine's process now (instead of on the first render) and returns the engine's versions. A start slower than `options.timeoutMs` (60 s) fails with `HELM_ENGINE_FAILED`. */
  async info(options: InfoOptions = {}): Promise<WasmEngineInfo> {
    return JSON.parse(await this.#host.info(options)) as WasmEngineInfo;
  }

  /** {@inheritDoc HelmEngine.render} */
  async render(request: RenderRequest): Promise<RenderOutput> {
    const reply = await this.#host.call({
      request: JSON.stringify({
        releaseName: request.releaseName,
        namespace: request.namespace,
        kubeVersion: request.kubeVersion,
        apiVersions: request.apiVersions,
        includeCRDs: request.includeCRDs,
        skipTests: request.skipTests,
        disableHooks: request.disableHooks,
        isUpgrade: request.isUpgrade,
        skipSchemaValidation: request.skipSchemaValidation,
        maxOutputBytes: request.maxOutputBytes,
        maxMemoryBytes: request.maxMemoryBytes,
        useLookup: request.lookup !== undefined,
        values: [],
      }),
      args: [request.files.map((f) => [f.name, f.data]), request.values.map((v) => [v.name, v.data])],
      limits: { maxMemoryBytes: request.maxMemoryBytes, maxOutputBytes: request.maxOutputBytes, timeoutMs: request.timeoutMs },
      signal: request.signal,
      onCall: (kind, payload) => {
        if (kind !== 'lookup') return Promise.reject(new Error(`unknown host call ${kind}`));
        return lookup(request, JSON.parse(payload) as LookupQuery);
      },
    });
    let parsed: EngineReply;
    try {
      parsed = JSON.parse(reply.json) as EngineReply;
    } catch (err) {
      throw helmError('HELM_ENGINE_FAILED', `unreadable reply from the Helm wasm engine`, {}, err);
    }
    if (!parsed.ok) throw engineError(parsed.error.kind, parsed.error.message, request);
    const warnings = [...(parsed.result.warnings ?? [])];
    const log = reply.log.trim();
    if (log) warnings.push(...log.split('\n'));
    return { manifest: parsed.result.manifest, notes: parsed.result.notes, warnings };
  }

  /** What the engine holds now: its process, that process's WebAssembly memory and resident memory. */
  stats(): WasmHostStats {
    return this.#host.stats();
  }

  /** Stops the engine's process; pending renders reject. */
  close(): Promise<void> {
    return this.#host.close();
  }
}

/** A template called `lookup`: ask the render's reader; the engine gets JSON (`''` for not found). */
async function lookup(request: RenderRequest, query: LookupQuery): Promise<string> {
  if (!request.lookup) return '';
  const found = await request.lookup(query);
  if (found === undefined || found === null) return '';
  if (Array.isArray(found)) return JSON.stringify({ apiVersion: query.apiVersion, kind: `${query.kind}List`, metadata: {}, items: found });
  return JSON.stringify(found);
}

let shared: WasmEngine | undefined;

/**
 * The process-wide {@link WasmEngine} that `helmChart()` uses unless given another engine.
 * Its process starts on the first render and does not keep the host's process alive when idle.
 */
export function defaultWasmEngine(): WasmEngine {
  shared ??= new WasmEngine();
  return shared;
}
