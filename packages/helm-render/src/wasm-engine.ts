import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortedError } from '@converge/core';
import type { HelmEngine, RenderOutput, RenderRequest } from './engine.js';
import { helmError } from './errors.js';
import { DEFAULT_RENDER_LIMITS } from './helm-chart-options.js';
import { crashError, engineError, limitError } from './internal/engine-error.js';
import { packageRoot } from './internal/package-root.js';
import { withMemoryMaximum } from './internal/wasm-memory-limit.js';
import type { LookupQuery } from './lookup.js';

/** Options of {@link WasmEngine}. */
export interface WasmEngineOptions {
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

interface Job {
  id: number;
  request: RenderRequest;
  resolve: (out: RenderOutput) => void;
  reject: (err: unknown) => void;
  onAbort?: () => void;
}

type WorkerMessage =
  | { type: 'ready'; info: string }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; json: string; log: string }
  | { type: 'lookup'; id: number; lookupId: number; query: LookupQuery }
  | { type: 'exit'; code: number; log: string };

/** How a worker died, for {@link WasmEngine}'s crash handling. */
type WorkerCrash =
  | { kind: 'go-exit'; code: number; log: string }
  | { kind: 'error'; err: Error }
  | { kind: 'worker-exit'; code: number };

type EngineReply =
  | { ok: true; result: { manifest: string; notes: string; warnings: string[] } }
  | { ok: false; error: { kind: string; message: string } };

/** A compiled `WebAssembly.Module` (the ES2023 lib this package targets has no wasm types). */
type CompiledModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }).WebAssembly;

/** The engine compiled with a memory maximum, and what that maximum is. */
interface CappedModule {
  module: CompiledModule;
  /** The declared maximum of the module's memory, in bytes: the hard cap. */
  maximumBytes: number;
}

/**
 * Compiled modules by path and memory cap. Each holds its machine code (~100 MiB), so only
 * the two most recently used caps are kept; a process normally uses one.
 */
const modules = new Map<string, Promise<CappedModule>>();
const MODULES_KEPT = 2;

/**
 * Compiles the wasm with its memory capped at `maxMemoryBytes` (see `withMemoryMaximum`),
 * once per path and cap; worker restarts reuse the compiled module.
 */
function compiledModule(path: string, maxMemoryBytes: number): Promise<CappedModule> {
  const key = `${maxMemoryBytes}\0${path}`;
  let module = modules.get(key);
  if (module) {
    modules.delete(key); // re-insert: most recently used last
  } else {
    module = readFile(path).then(
      async (bytes) => {
        let capped;
        try {
          capped = withMemoryMaximum(bytes, maxMemoryBytes);
        } catch (err) {
          throw helmError('HELM_INVALID_OPTIONS', `cannot cap the Helm wasm engine's memory at ${maxMemoryBytes} bytes (maxMemoryBytes): ${(err as Error).message}`, { maxMemoryBytes }, err);
        }
        return { module: await wasmApi.compile(capped.bytes), maximumBytes: capped.maximumBytes };
      },
      (err: unknown) => {
        throw helmError(
          'HELM_ENGINE_FAILED',
          `cannot read the Helm wasm engine at ${path}: ${(err as Error).message}. ` +
            'Build it with `npm run build:wasm -w @converge/helm-render`, or use engine: "cli".',
          {},
          err,
        );
      },
    );
    module.catch(() => modules.delete(key));
  }
  modules.set(key, module);
  for (const old of modules.keys()) {
    if (modules.size <= MODULES_KEPT) break;
    modules.delete(old);
  }
  return module;
}

/**
 * The V8 heap of a worker, in MiB. The worker's JavaScript holds only the chart files sent in,
 * at most 1 MiB of engine log and one result (at most `maxOutputBytes`, which Go built inside
 * the capped wasm memory first), so half the wasm cap is ample; the floor covers the runtime.
 */
function workerHeapMb(maxMemoryBytes: number): number {
  return Math.max(128, Math.ceil(maxMemoryBytes / 2 / 1024 / 1024));
}

/**
 * Helm's own template engine (Helm v4, Go) compiled to WebAssembly, run in one worker
 * thread that is reused across renders. Renders are queued and run one at a time.
 *
 * Every render is bounded (see {@link RenderRequest}): its memory by the maximum declared on
 * the module's memory (`maxMemoryBytes`, patched in before compiling, so `memory.grow` past it
 * fails and Go dies with "out of memory"; the Go side also limits goroutine stacks and tells
 * its collector the limit), its output by `maxOutputBytes`, its time by `timeoutMs`. A render
 * that breaks a bound, crashes the engine, or is aborted terminates the worker and fails with
 * a typed error (`ENGINE_MEMORY_LIMIT`, `ENGINE_OUTPUT_LIMIT`, `ENGINE_TIMEOUT`,
 * `HELM_ENGINE_FAILED`, or an `AbortedError`); the next render starts a new worker from the
 * already compiled module, so a runaway chart never takes the process down or poisons the
 * renders after it. The worker's own JavaScript heap is bounded too (`resourceLimits`).
 *
 * The Go program has no file system, network or environment: it sees only the chart files
 * and values passed in. `lookup` returns empty results, as in `helm template`.
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
  readonly #wasmPath: string;
  readonly #queue: Job[] = [];
  #worker: Worker | undefined;
  /** The memory cap (`maxMemoryBytes`) the running worker's module was compiled with. */
  #workerCap = 0;
  #starting: { maxMemoryBytes: number; worker: Promise<Worker> } | undefined;
  #info: WasmEngineInfo | undefined;
  #current: Job | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: WasmEngineOptions = {}) {
    this.#wasmPath =
      options.wasmPath ?? process.env['CONVERGE_HELM_WASM'] ?? join(packageRoot(), 'wasm', 'helm-engine.wasm');
  }

  /** Starts the worker now (instead of on the first render) and returns the engine's versions. */
  async info(): Promise<WasmEngineInfo> {
    const cap = this.#starting?.maxMemoryBytes ?? (this.#worker ? this.#workerCap : DEFAULT_RENDER_LIMITS.maxMemoryBytes);
    await this.#ensureWorker(cap);
    return this.#info!;
  }

  /** {@inheritDoc HelmEngine.render} */
  render(request: RenderRequest): Promise<RenderOutput> {
    if (this.#closed) return Promise.reject(helmError('HELM_ENGINE_FAILED', 'the Helm wasm engine is closed'));
    if (request.signal?.aborted) return Promise.reject(new AbortedError('helm render aborted'));
    return new Promise<RenderOutput>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, request, resolve, reject };
      if (request.signal) {
        const signal = request.signal;
        job.onAbort = () => this.#abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Terminates the worker; pending renders reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const err = helmError('HELM_ENGINE_FAILED', 'the Helm wasm engine was closed');
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    if (this.#current) this.#settle(this.#current, err);
    this.#current = undefined;
    await this.#stopWorker();
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#worker?.unref();
      return;
    }
    this.#current = job;
    const { request } = job;
    this.#ensureWorker(request.maxMemoryBytes).then(
      (worker) => {
        if (this.#current !== job) return; // aborted while the worker started
        worker.ref();
        this.#timer = setTimeout(() => this.#fail(job, limitError('timeoutMs', request.timeoutMs)), request.timeoutMs);
        worker.postMessage({
          type: 'render',
          id: job.id,
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
          files: request.files.map((f) => [f.name, f.data]),
          values: request.values.map((v) => [v.name, v.data]),
        });
      },
      (err: unknown) => {
        if (this.#current === job) this.#finish(job, err);
      },
    );
  }

  /**
   * The worker for a render capped at `maxMemoryBytes`: the running one if its module has that
   * cap, else a new one (the old one is terminated; the cap is part of the compiled module).
   */
  async #ensureWorker(maxMemoryBytes: number): Promise<Worker> {
    for (;;) {
      const starting = this.#starting;
      if (starting) {
        if (starting.maxMemoryBytes === maxMemoryBytes) return starting.worker;
        await starting.worker.catch(() => undefined);
        continue;
      }
      if (this.#worker && this.#workerCap === maxMemoryBytes) return this.#worker;
      const old = this.#worker;
      this.#worker = undefined;
      if (old) void old.terminate();
      const worker = this.#startWorker(maxMemoryBytes).finally(() => {
        if (this.#starting?.worker === worker) this.#starting = undefined;
      });
      this.#starting = { maxMemoryBytes, worker };
      return worker;
    }
  }

  async #startWorker(maxMemoryBytes: number): Promise<Worker> {
    const { module } = await compiledModule(this.#wasmPath, maxMemoryBytes);
    const root = packageRoot();
    const worker = new Worker(join(root, 'worker', 'engine-worker.mjs'), {
      workerData: { module, wasmExecUrl: pathToFileURL(join(root, 'wasm', 'wasm_exec.js')).href },
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb(maxMemoryBytes) },
    });
    return new Promise<Worker>((resolve, reject) => {
      const onStartError = (err: unknown) =>
        reject(helmError('HELM_ENGINE_FAILED', `the Helm wasm engine failed to start: ${String(err)}`, {}, err));
      const onStartExit = (code: number) => onStartError(`the worker exited with code ${code}`);
      worker.once('error', onStartError);
      worker.once('exit', onStartExit);
      worker.on('message', (msg: WorkerMessage) => {
        switch (msg.type) {
          case 'ready':
            worker.off('error', onStartError);
            worker.off('exit', onStartExit);
            worker.on('error', (err) => this.#crash(worker, { kind: 'error', err }));
            worker.on('exit', (code) => this.#crash(worker, { kind: 'worker-exit', code }));
            this.#info = JSON.parse(msg.info) as WasmEngineInfo;
            this.#worker = worker;
            this.#workerCap = maxMemoryBytes;
            // Idle (e.g. the render that started it was aborted): do not hold the process open.
            if (!this.#current) worker.unref();
            resolve(worker);
            break;
          case 'fatal':
            void worker.terminate();
            onStartError(msg.message);
            break;
          case 'exit':
            this.#crash(worker, { kind: 'go-exit', code: msg.code, log: msg.log });
            break;
          case 'result':
            this.#onResult(msg);
            break;
          case 'lookup':
            this.#onLookup(worker, msg);
            break;
        }
      });
    });
  }

  #onResult(msg: { id: number; json: string; log: string }): void {
    const job = this.#current;
    if (!job || job.id !== msg.id) return;
    let reply: EngineReply;
    try {
      reply = JSON.parse(msg.json) as EngineReply;
    } catch (err) {
      this.#finish(job, helmError('HELM_ENGINE_FAILED', `unreadable reply from the Helm wasm engine`, {}, err));
      return;
    }
    if (reply.ok) {
      const warnings = [...(reply.result.warnings ?? [])];
      const log = msg.log.trim();
      if (log) warnings.push(...log.split('\n'));
      this.#finish(job, undefined, { manifest: reply.result.manifest, notes: reply.result.notes, warnings });
    } else {
      this.#finish(job, engineError(reply.error.kind, reply.error.message, job.request));
    }
  }

  /** A template called `lookup`: ask the render's reader and answer the worker. */
  #onLookup(worker: Worker, msg: { id: number; lookupId: number; query: LookupQuery }): void {
    const job = this.#current;
    const reply = (answer: { json?: string; error?: string }) => {
      if (this.#worker === worker) worker.postMessage({ type: 'lookup-result', lookupId: msg.lookupId, ...answer });
    };
    const lookup = job?.id === msg.id ? job.request.lookup : undefined;
    if (!lookup) return reply({ json: '' });
    lookup(msg.query).then(
      (found) => {
        if (found === undefined || found === null) return reply({ json: '' });
        if (Array.isArray(found)) {
          const { apiVersion, kind } = msg.query;
          return reply({ json: JSON.stringify({ apiVersion, kind: `${kind}List`, metadata: {}, items: found }) });
        }
        reply({ json: JSON.stringify(found) });
      },
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  }

  /**
   * The worker died: the Go program ended (out of its capped memory or stack, or a fatal
   * error), the worker's JavaScript heap ran out, or it exited. Fails the current render with
   * the reason — never the engine's log or partial output — and restarts lazily.
   */
  #crash(worker: Worker, how: WorkerCrash): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    const job = this.#current;
    if (!job) return;
    let err;
    if (how.kind === 'go-exit') err = crashError(how.log, how.code, job.request);
    else if ((how.kind === 'error' && (how.err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY')) {
      err = limitError('maxMemoryBytes', job.request.maxMemoryBytes, "the engine worker's JavaScript heap ran out");
    } else {
      const reason = how.kind === 'error' ? `worker error: ${how.err.message}` : `worker exited with code ${how.code}`;
      err = helmError('HELM_ENGINE_FAILED', `the Helm wasm engine crashed (${reason}); it is replaced for the next render`);
    }
    this.#finish(job, err);
  }

  #abort(job: Job): void {
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(job, new AbortedError('helm render aborted'));
    } else if (this.#current === job) {
      this.#fail(job, new AbortedError('helm render aborted'));
    }
  }

  /** Ends the current render with `err` and kills the worker running it. */
  #fail(job: Job, err: unknown): void {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#finish(job, err);
    if (worker) void worker.terminate();
  }

  #finish(job: Job, err: unknown, out?: RenderOutput): void {
    if (this.#current !== job) return;
    clearTimeout(this.#timer);
    this.#current = undefined;
    this.#settle(job, err, out);
    this.#pump();
  }

  #settle(job: Job, err: unknown, out?: RenderOutput): void {
    if (job.onAbort) job.request.signal?.removeEventListener('abort', job.onAbort);
    if (err === undefined && out) job.resolve(out);
    else job.reject(err);
  }

  async #stopWorker(): Promise<void> {
    const worker = this.#worker ?? (await this.#starting?.worker.catch(() => undefined));
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }
}

let shared: WasmEngine | undefined;

/**
 * The process-wide {@link WasmEngine} that `helmChart()` uses unless given another engine.
 * Its worker thread starts on the first render and does not keep the process alive when idle.
 */
export function defaultWasmEngine(): WasmEngine {
  shared ??= new WasmEngine();
  return shared;
}
