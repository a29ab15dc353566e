import { join } from 'node:path';
import { WasmHost, limitMessage, type EngineLifetimeOptions, type EngineLimits, type InfoOptions, type HostFailure, type WasmHostStats } from '@converge/wasm-host';
import { kustomizeError, type KustomizeError, type KustomizeErrorCode } from './errors.js';
import { packageRoot } from './internal/package-root.js';
import type { ResolvedRemote } from './remote-resolver.js';
import { redactUrl } from './remote-url.js';

/**
 * Options of {@link KustomizeEngine}. When it lets go of its memory between builds (idle
 * release, recycling a process a large build left big) is in `EngineLifetimeOptions`.
 */
export interface KustomizeEngineOptions extends EngineLifetimeOptions {
  /**
   * Path of the engine's `.wasm` file.
   * @default the `wasm/kustomize-engine.wasm` shipped in this package (or `$CONVERGE_KUSTOMIZE_WASM`)
   */
  wasmPath?: string;
}

/** Versions compiled into the engine. */
export interface KustomizeEngineInfo {
  /** e.g. `v5.8.1`. */
  kustomizeVersion: string;
  /** The Go release it was compiled with. */
  goVersion: string;
}

/** Kustomization fields given in code, merged into the root kustomization (as Flux does). */
export interface KustomizationOverrides {
  namespace?: string;
  images?: unknown[];
  patches?: unknown[];
  components?: string[];
  buildMetadata?: string[];
  labels?: unknown[];
}

/** One `kustomize build` for {@link KustomizeEngine.build}. */
export interface BuildRequest {
  /** The artifact's files, named from its root with `/`. */
  files: Array<{ name: string; data: Uint8Array }>;
  /** The kustomization folder, from the artifact's root. */
  path: string;
  /** `'rootOnly'` (kustomize build's default) or `'none'` (any file of the artifact). */
  loadRestrictor: 'rootOnly' | 'none';
  /** `kustomize build --reorder`; `''` is kustomize build's default. */
  reorder?: '' | 'legacy' | 'none';
  generateKustomization: boolean;
  overrides?: KustomizationOverrides | undefined;
  /** Inflate `helmCharts:` through {@link BuildRequest.helm}. */
  enableHelm: boolean;
  limits: EngineLimits;
  signal?: AbortSignal | undefined;
  /** Resolves a remote entry; rejects with the reason. Without it, remote entries fail. */
  resolve?: ((url: string, kustomizationFile: string) => Promise<ResolvedRemote>) | undefined;
  /** Renders a `helmCharts:` entry (a JSON request, see engine/jailfs.go) to manifests. */
  helm?: ((request: string) => Promise<string>) | undefined;
}

/** What a build returns. */
export interface BuildOutput {
  /** Byte for byte what `kustomize build` prints. */
  yaml: string;
  /** The remote entries the build used and the revision each resolved to, in first-use order. */
  remotes: Array<{ url: string; revision: string }>;
}

type EngineReply =
  | { ok: true; result: BuildOutput }
  | { ok: false; error: { kind: string; message: string; file?: string; field?: string; url?: string } };

/** The Go engine's failure kinds (engine/render.go, engine/classify.go) as error codes. */
const CODES: Record<string, KustomizeErrorCode> = {
  REQUEST: 'KUSTOMIZE_INVALID_OPTIONS',
  BUILD: 'KUSTOMIZE_BUILD_FAILED',
  PATH_OUTSIDE_ARTIFACT: 'KUSTOMIZE_PATH_OUTSIDE_ARTIFACT',
  REMOTE_FAILED: 'KUSTOMIZE_REMOTE_FAILED',
  HELM_FAILED: 'KUSTOMIZE_HELM_FAILED',
  OUTPUT_LIMIT: 'ENGINE_OUTPUT_LIMIT',
  NO_KUSTOMIZATION: 'KUSTOMIZE_NOT_FOUND',
  RESOURCE_NOT_FOUND: 'KUSTOMIZE_RESOURCE_NOT_FOUND',
  CYCLE: 'KUSTOMIZE_CYCLE',
  INVALID_KUSTOMIZATION: 'KUSTOMIZE_INVALID',
  PATCH_NO_MATCH: 'KUSTOMIZE_PATCH_NO_MATCH',
  LOAD_RESTRICTED: 'KUSTOMIZE_LOAD_RESTRICTED',
  INTERNAL: 'KUSTOMIZE_ENGINE_FAILED',
};

const WORDING = { cause: 'A kustomization', subject: 'a kustomization' };

function hostError(f: HostFailure): KustomizeError {
  switch (f.kind) {
    case 'limit': {
      const code = f.limit === 'maxMemoryBytes' ? 'ENGINE_MEMORY_LIMIT' : f.limit === 'timeoutMs' ? 'ENGINE_TIMEOUT' : 'ENGINE_OUTPUT_LIMIT';
      return kustomizeError(code, `kustomize: ${limitMessage(f.limit, f.value, WORDING, f.detail)}`, { limit: f.limit, limitValue: f.value });
    }
    case 'invalid-limit':
      return kustomizeError('KUSTOMIZE_INVALID_OPTIONS', `kustomize: cannot cap the engine's memory at ${f.value} bytes (maxMemoryBytes): ${f.reason}`, { field: 'maxMemoryBytes' });
    case 'crashed':
      return kustomizeError('KUSTOMIZE_ENGINE_FAILED', `the kustomize wasm engine crashed (${f.reason}); it is replaced for the next build`);
    case 'invalid-input':
      return kustomizeError('KUSTOMIZE_INVALID_OPTIONS', `kustomize: the build's files are not plain bytes: ${f.reason}`);
    case 'unavailable':
      return kustomizeError('KUSTOMIZE_ENGINE_FAILED', `${f.reason}. Build it with \`npm run build:wasm -w @converge/kustomize\``, {}, f.cause);
    case 'start-timeout':
      return kustomizeError('KUSTOMIZE_ENGINE_FAILED', `the kustomize wasm engine did not start within ${f.timeoutMs} ms (info's timeoutMs); its process was stopped`, { timeoutMs: f.timeoutMs });
    case 'closed':
      return kustomizeError('KUSTOMIZE_ENGINE_FAILED', 'the kustomize wasm engine is closed');
  }
}

/**
 * Kustomize's own engine (`sigs.k8s.io/kustomize/api`'s krusty, Go) compiled to WebAssembly,
 * run in a child process of its own by `@converge/wasm-host`: builds are queued and bounded in
 * memory, output and time; a build that breaks a bound or is aborted replaces the process.
 *
 * The engine sees the artifact's files in memory and nothing else: no disk, no network, no
 * `git` or `helm` binary. Remote bases and `helmCharts:` reach it only through
 * {@link BuildRequest.resolve} and {@link BuildRequest.helm}.
 *
 * Most users never construct one: `kustomize()` uses {@link defaultKustomizeEngine}.
 *
 * @example
 * ```ts
 * const engine = new KustomizeEngine();
 * const render = kustomize({ path: 'overlays/prod', engine });
 * // …
 * await engine.close();
 * ```
 */
export class KustomizeEngine {
  readonly #host: WasmHost<KustomizeError>;

  /** @throws InvalidOptionsError (`INVALID_OPTIONS`) for a negative or non-numeric `idleTimeoutMs` or `recycleAboveMemoryBytes`. */
  constructor(options: KustomizeEngineOptions = {}) {
    const root = packageRoot();
    this.#host = new WasmHost({
      engineName: 'kustomize',
      wasmPath: options.wasmPath ?? process.env['CONVERGE_KUSTOMIZE_WASM'] ?? join(root, 'wasm', 'kustomize-engine.wasm'),
      wasmExecPath: join(root, 'wasm', 'wasm_exec.js'),
      globalName: 'convergeKustomizeEngine',
      toError: hostError,
      idleTimeoutMs: options.idleTimeoutMs,
      recycleAboveMemoryBytes: options.recycleAboveMemoryBytes,
      clock: options.clock,
    });
  }

  /** Starts the engine's process now (instead of on the first build) and returns the engine's versions. A start slower than `options.timeoutMs` (60 s) fails with `KUSTOMIZE_ENGINE_FAILED`. */
  async info(options: InfoOptions = {}): Promise<KustomizeEngineInfo> {
    return JSON.parse(await this.#host.info(options)) as KustomizeEngineInfo;
  }

  /** Runs one `kustomize build`. Rejects with a `KustomizeError` or an `AbortedError`. */
  async build(request: BuildRequest): Promise<BuildOutput> {
    const { limits } = request;
    const reply = await this.#host.call({
      request: JSON.stringify({
        path: request.path,
        loadRestrictor: request.loadRestrictor,
        enableHelm: request.enableHelm,
        reorder: request.reorder ?? '',
        generateKustomization: request.generateKustomization,
        overrides: request.overrides,
        maxOutputBytes: limits.maxOutputBytes,
        maxMemoryBytes: limits.maxMemoryBytes,
      }),
      args: [request.files.map((f) => [f.name, f.data])],
      limits,
      signal: request.signal,
      onCall: async (kind, payload) => {
        if (kind === 'resolve' && request.resolve) {
          const { url, kustomizationFile } = JSON.parse(payload) as { url: string; kustomizationFile: string };
          const r = await request.resolve(url, kustomizationFile);
          return r.kind === 'file'
            ? { id: r.id, kind: 'file', data: r.data, revision: r.revision }
            : { id: r.id, kind: 'dir', path: r.path, revision: r.revision, files: r.files.map((f) => [f.name, f.data]) };
        }
        if (kind === 'helm' && request.helm) return request.helm(payload);
        throw new Error(`no ${kind === 'resolve' ? 'remote resolver' : kind === 'helm' ? 'Helm engine' : `"${kind}" handler`}`);
      },
    });
    let parsed: EngineReply;
    try {
      parsed = JSON.parse(reply.json) as EngineReply;
    } catch (err) {
      throw kustomizeError('KUSTOMIZE_ENGINE_FAILED', 'unreadable reply from the kustomize wasm engine', {}, err);
    }
    if (parsed.ok) return { yaml: parsed.result.yaml, remotes: (parsed.result.remotes ?? []).map((r) => ({ url: redactUrl(r.url), revision: r.revision })) };
    const { kind, message, file, field, url } = parsed.error;
    const code = CODES[kind] ?? 'KUSTOMIZE_ENGINE_FAILED';
    if (code === 'ENGINE_OUTPUT_LIMIT') {
      throw kustomizeError(code, `kustomize: ${limitMessage('maxOutputBytes', limits.maxOutputBytes, WORDING, message)}`, {
        limit: 'maxOutputBytes',
        limitValue: limits.maxOutputBytes,
      });
    }
    // A remote entry may carry credentials in its URL (as git accepts them): never in errors.
    throw kustomizeError(code, redactUrl(message), {
      kustomizeKind: kind,
      ...(file && { position: { file: redactUrl(file) } }),
      ...(field && { field }),
      ...(url && { url: redactUrl(url) }),
    });
  }

  /** What the engine holds now: its process, that process's WebAssembly memory and resident memory. */
  stats(): WasmHostStats {
    return this.#host.stats();
  }

  /** Stops the engine's process; pending builds reject. Idempotent. */
  close(): Promise<void> {
    return this.#host.close();
  }
}

let shared: KustomizeEngine | undefined;

/**
 * The process-wide {@link KustomizeEngine} that `kustomize()` uses unless given another.
 * Its process starts on the first build and does not keep the host's process alive when idle.
 */
export function defaultKustomizeEngine(): KustomizeEngine {
  shared ??= new KustomizeEngine();
  return shared;
}
