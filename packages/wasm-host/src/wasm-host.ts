import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortedError } from '@converge/core';
import { crashFailure, type EngineLimits, type HostFailure } from './engine-limits.js';
import { withMemoryMaximum } from './wasm-memory-limit.js';

/** Options of {@link WasmHost}. */
export interface WasmHostOptions<E extends Error> {
  /** Shown in messages, e.g. `kustomize`. */
  engineName: string;
  /** Path of the engine's `.wasm` file. */
  wasmPath: string;
  /** Path of the `wasm_exec.js` of the Go release that compiled it. */
  wasmExecPath: string;
  /** The global the Go program registers its `{ render, info }` object under, e.g. `convergeKustomizeEngine`. */
  globalName: string;
  /** Turns a failure of the host into the engine package's own error class. */
  toError: (failure: HostFailure) => E;
  /**
   * Limits used when {@link WasmHost.info} starts a worker before any call.
   * @default 512 MiB of memory
   */
  defaultMaxMemoryBytes?: number;
}

/** One call into the engine. */
export interface HostCall {
  /** The request, as the Go program's `render` takes it (usually JSON). */
  request: string;
  /** Further arguments of `render`, structured-cloned into the worker (e.g. `[name, bytes][]`). */
  args: unknown[];
  limits: EngineLimits;
  signal?: AbortSignal | undefined;
  /**
   * Answers the engine's `convergeHostCall(kind, payload)` during this call (remote bases,
   * Helm lookups, …). Its value is structured-cloned back; a rejection reaches the engine as
   * an error. Without it, every host call fails.
   */
  onCall?: ((kind: string, payload: string) => Promise<unknown>) | undefined;
}

/** What the engine's `render` resolved with, and what it printed meanwhile. */
export interface HostReply {
  json: string;
  /** What the Go program wrote to stdout/stderr during the call (at most 1 MiB). */
  log: string;
}

interface Job {
  id: number;
  call: HostCall;
  resolve: (reply: HostReply) => void;
  reject: (err: unknown) => void;
  onAbort?: () => void;
}

type WorkerMessage =
  | { type: 'ready'; info: string }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; json: string; log: string }
  | { type: 'call'; id: number; callId: number; kind: string; payload: string }
  | { type: 'exit'; code: number; log: string };

type WorkerCrash = { kind: 'go-exit'; code: number; log: string } | { kind: 'error'; err: Error } | { kind: 'worker-exit'; code: number };

/** A compiled `WebAssembly.Module` (the ES2023 lib has no wasm types). */
type CompiledModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }).WebAssembly;

/**
 * Compiled modules by path and memory cap. Each holds its machine code (~100 MiB), so only the
 * most recently used few are kept; a process normally uses one per engine.
 */
const modules = new Map<string, Promise<CompiledModule>>();
const MODULES_KEPT = 3;

function compiledModule(path: string, maxMemoryBytes: number): Promise<CompiledModule> {
  const key = `${maxMemoryBytes}\0${path}`;
  let module = modules.get(key);
  if (module) {
    modules.delete(key); // re-insert: most recently used last
  } else {
    module = readFile(path).then(async (bytes) => {
      let capped;
      try {
        capped = withMemoryMaximum(bytes, maxMemoryBytes);
      } catch (err) {
        throw new InvalidLimit((err as Error).message);
      }
      return wasmApi.compile(capped.bytes);
    });
    module.catch(() => modules.delete(key));
  }
  modules.set(key, module);
  for (const old of modules.keys()) {
    if (modules.size <= MODULES_KEPT) break;
    modules.delete(old);
  }
  return module;
}

/** `maxMemoryBytes` cannot be declared on the module. */
class InvalidLimit extends Error {}

/**
 * The V8 heap of a worker, in MiB: it holds the input sent in, at most 1 MiB of log and one
 * reply (bounded by the engine's output cap, built inside the capped wasm memory first).
 */
function workerHeapMb(maxMemoryBytes: number): number {
  return Math.max(128, Math.ceil(maxMemoryBytes / 2 / 1024 / 1024));
}

const WORKER_PATH = join(dirname(dirname(fileURLToPath(import.meta.url))), 'worker', 'engine-worker.mjs');

/**
 * Runs a Go program compiled to WebAssembly (GOOS=js) in one worker thread reused across
 * calls. Calls are queued and run one at a time.
 *
 * Every call is bounded: memory by the maximum declared on the module's memory
 * (`maxMemoryBytes`, patched in before compiling, so the Go runtime dies with "out of memory"
 * past it), time by `timeoutMs`, and the engine is told `maxOutputBytes`. A call that breaks a
 * bound, crashes the engine, or is aborted terminates the worker and fails (through
 * {@link WasmHostOptions.toError}, or an `AbortedError`); the next call starts a new worker from
 * the already compiled module, so a runaway input never takes the process down or poisons the
 * calls after it. The worker's own JavaScript heap is bounded too.
 *
 * The Go program has no file system, network or environment: it sees only the request and
 * what {@link HostCall.onCall} answers.
 *
 * @example
 * ```ts
 * const host = new WasmHost({ engineName: 'kustomize', wasmPath, wasmExecPath,
 *   globalName: 'convergeKustomizeEngine', toError: (f) => new Error(f.kind) });
 * const { json } = await host.call({ request: '{}', args: [[]], limits });
 * await host.close();
 * ```
 */
export class WasmHost<E extends Error = Error> {
  readonly #o: WasmHostOptions<E>;
  readonly #queue: Job[] = [];
  #worker: Worker | undefined;
  #workerCap = 0;
  #starting: { maxMemoryBytes: number; worker: Promise<Worker> } | undefined;
  #info: string | undefined;
  #current: Job | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: WasmHostOptions<E>) {
    this.#o = options;
  }

  /** Starts the worker now (instead of on the first call) and returns what the engine's `info()` returned. */
  async info(): Promise<string> {
    const cap = this.#starting?.maxMemoryBytes ?? (this.#worker ? this.#workerCap : (this.#o.defaultMaxMemoryBytes ?? 512 * 1024 * 1024));
    await this.#ensureWorker(cap);
    return this.#info!;
  }

  /** Runs one call. Rejects with the engine's error (see {@link WasmHostOptions.toError}) or an `AbortedError`. */
  call(call: HostCall): Promise<HostReply> {
    if (this.#closed) return Promise.reject(this.#o.toError({ kind: 'closed' }));
    if (call.signal?.aborted) return Promise.reject(new AbortedError(`${this.#o.engineName} render aborted`));
    return new Promise<HostReply>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, call, resolve, reject };
      if (call.signal) {
        job.onAbort = () => this.#abort(job);
        call.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Terminates the worker; pending calls reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const err = this.#o.toError({ kind: 'closed' });
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    if (this.#current) this.#settle(this.#current, err);
    this.#current = undefined;
    const worker = this.#worker ?? (await this.#starting?.worker.catch(() => undefined));
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#worker?.unref();
      return;
    }
    this.#current = job;
    const { limits } = job.call;
    this.#ensureWorker(limits.maxMemoryBytes).then(
      (worker) => {
        if (this.#current !== job) return; // aborted while the worker started
        worker.ref();
        this.#timer = setTimeout(() => this.#fail(job, this.#o.toError({ kind: 'limit', limit: 'timeoutMs', value: limits.timeoutMs })), limits.timeoutMs);
        worker.postMessage({ type: 'render', id: job.id, request: job.call.request, args: job.call.args });
      },
      (err: unknown) => {
        if (this.#current === job) this.#finish(job, err);
      },
    );
  }

  #ensureWorker(maxMemoryBytes: number): Promise<Worker> {
    if (this.#worker && this.#workerCap === maxMemoryBytes) return Promise.resolve(this.#worker);
    if (this.#starting?.maxMemoryBytes === maxMemoryBytes) return this.#starting.worker;
    const old = this.#worker;
    this.#worker = undefined;
    if (old) void old.terminate();
    const worker = this.#startWorker(maxMemoryBytes).finally(() => {
      if (this.#starting?.worker === worker) this.#starting = undefined;
    });
    this.#starting = { maxMemoryBytes, worker };
    return worker;
  }

  async #startWorker(maxMemoryBytes: number): Promise<Worker> {
    const { engineName, wasmPath } = this.#o;
    let module: CompiledModule;
    try {
      module = await compiledModule(wasmPath, maxMemoryBytes);
    } catch (err) {
      if (err instanceof InvalidLimit) throw this.#o.toError({ kind: 'invalid-limit', limit: 'maxMemoryBytes', value: maxMemoryBytes, reason: err.message });
      throw this.#o.toError({ kind: 'unavailable', reason: `cannot load the ${engineName} wasm engine at ${wasmPath}: ${(err as Error).message}`, cause: err });
    }
    const worker = new Worker(WORKER_PATH, {
      workerData: { module, wasmExecUrl: pathToFileURL(this.#o.wasmExecPath).href, globalName: this.#o.globalName, argv0: `${engineName}-engine` },
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb(maxMemoryBytes) },
    });
    return new Promise<Worker>((resolve, reject) => {
      const onStartError = (err: unknown) =>
        reject(this.#o.toError({ kind: 'unavailable', reason: `the ${engineName} wasm engine failed to start: ${String(err)}`, cause: err }));
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
            this.#info = msg.info;
            this.#worker = worker;
            this.#workerCap = maxMemoryBytes;
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
            if (this.#current?.id === msg.id) this.#finish(this.#current, undefined, { json: msg.json, log: msg.log });
            break;
          case 'call':
            this.#onCall(worker, msg);
            break;
        }
      });
    });
  }

  /** The engine called the host: ask the call's handler and answer the worker. */
  #onCall(worker: Worker, msg: { id: number; callId: number; kind: string; payload: string }): void {
    const reply = (answer: { value?: unknown; error?: string }) => {
      if (this.#worker === worker) worker.postMessage({ type: 'call-result', callId: msg.callId, ...answer });
    };
    const job = this.#current;
    const handler = job?.id === msg.id ? job.call.onCall : undefined;
    if (!handler) return reply({ error: `the host answers no "${msg.kind}" calls` });
    let answer: Promise<unknown>;
    try {
      answer = handler(msg.kind, msg.payload);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (value) => reply({ value }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  }

  /** The worker died. Fails the current call with the reason — never the engine's log — and restarts lazily. */
  #crash(worker: Worker, how: WorkerCrash): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    const job = this.#current;
    if (!job) return;
    const { limits } = job.call;
    let failure: HostFailure;
    if (how.kind === 'go-exit') failure = crashFailure(how.log, how.code, limits);
    else if (how.kind === 'error' && (how.err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
      failure = { kind: 'limit', limit: 'maxMemoryBytes', value: limits.maxMemoryBytes, detail: "the engine worker's JavaScript heap ran out" };
    } else {
      failure = { kind: 'crashed', reason: how.kind === 'error' ? `worker error: ${how.err.message}` : `worker exited with code ${how.code}` };
    }
    this.#finish(job, this.#o.toError(failure));
  }

  #abort(job: Job): void {
    const err = new AbortedError(`${this.#o.engineName} render aborted`);
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(job, err);
    } else if (this.#current === job) {
      this.#fail(job, err);
    }
  }

  /** Ends the current call with `err` and kills the worker running it. */
  #fail(job: Job, err: unknown): void {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#finish(job, err);
    if (worker) void worker.terminate();
  }

  #finish(job: Job, err: unknown, reply?: HostReply): void {
    if (this.#current !== job) return;
    clearTimeout(this.#timer);
    this.#current = undefined;
    this.#settle(job, err, reply);
    this.#pump();
  }

  #settle(job: Job, err: unknown, reply?: HostReply): void {
    if (job.onAbort) job.call.signal?.removeEventListener('abort', job.onAbort);
    if (err === undefined && reply) job.resolve(reply);
    else job.reject(err);
  }
}
