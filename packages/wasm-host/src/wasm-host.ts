import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortedError, type TimerHandle } from '@converge/core';
import { resolveEngineLifetime, type EngineLifetimeOptions, type ResolvedEngineLifetime, type WasmHostStats } from './engine-lifetime.js';
import { crashFailure, type EngineLimits, type HostFailure } from './engine-limits.js';
import { SharedModules, type ModuleLease } from './internal/shared-modules.js';
import { MEMORY_MAXIMUM_GROWTH, withMemoryMaximumInPlace } from './wasm-memory-limit.js';

/** Options of {@link WasmHost}; when it lets go of memory is in {@link EngineLifetimeOptions}. */
export interface WasmHostOptions<E extends Error> extends EngineLifetimeOptions {
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
  | { type: 'ready'; info: string; memoryBytes: number }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; json: string; log: string; memoryBytes: number }
  | { type: 'call'; id: number; callId: number; kind: string; payload: string }
  | { type: 'exit'; code: number; log: string };

type WorkerCrash = { kind: 'go-exit'; code: number; log: string } | { kind: 'error'; err: Error } | { kind: 'worker-exit'; code: number };

/** A compiled `WebAssembly.Module` (the ES2023 lib has no wasm types). */
type CompiledModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }).WebAssembly;

/** Compiled modules by memory cap and path, shared by the hosts in this process that hold them. */
const modules = new SharedModules<CompiledModule>();

/** A host keeps the modules of its last two caps, so calls alternating between two caps compile nothing. */
const MODULES_KEPT = 2;

/**
 * Reads the module with room in front of it and declares the memory cap in place: the module
 * is tens of MiB, and a patched copy next to the original would be one more of them at the
 * process's peak (the compiler keeps a copy of its own).
 */
async function compileCapped(path: string, maxMemoryBytes: number): Promise<CompiledModule> {
  const file = await open(path);
  let buffer: Uint8Array;
  try {
    const { size } = await file.stat();
    buffer = new Uint8Array(MEMORY_MAXIMUM_GROWTH + size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await file.read(buffer, MEMORY_MAXIMUM_GROWTH + read, size - read, read);
      if (bytesRead === 0) throw new Error(`${path} ended after ${read} of ${size} bytes`);
      read += bytesRead;
    }
  } finally {
    await file.close();
  }
  let capped;
  try {
    capped = withMemoryMaximumInPlace(buffer, MEMORY_MAXIMUM_GROWTH, maxMemoryBytes);
  } catch (err) {
    throw new InvalidLimit((err as Error).message);
  }
  return wasmApi.compile(capped.bytes);
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

/** A worker being started for one memory cap; abandoned (see `#retire`) when the host moves on. */
interface WorkerStart {
  token: symbol;
  maxMemoryBytes: number;
  worker: Promise<Worker>;
}

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
 * Between calls the host lets go of memory (see {@link EngineLifetimeOptions}): a worker whose
 * WebAssembly memory a call left above `recycleAboveMemoryBytes` is replaced, and after
 * `idleTimeoutMs` without a call the worker is terminated and the compiled module released.
 * Compiled modules are shared by the hosts of one process that run the same engine with the
 * same cap. {@link WasmHost.stats} says what is held.
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
  readonly #lifetime: ResolvedEngineLifetime;
  readonly #queue: Job[] = [];
  #worker: Worker | undefined;
  #workerCap = 0;
  #memoryBytes = 0;
  #starting: WorkerStart | undefined;
  /** The compiled modules held, most recently used last. */
  #modules: ModuleLease<CompiledModule>[] = [];
  #workersStarted = 0;
  #info: string | undefined;
  #current: Job | undefined;
  #timer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  #nextId = 1;
  #closed = false;

  /** @throws InvalidOptionsError (`INVALID_OPTIONS`) for an invalid {@link EngineLifetimeOptions} value. */
  constructor(options: WasmHostOptions<E>) {
    this.#o = options;
    this.#lifetime = resolveEngineLifetime(options);
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
    this.#stopIdleTimer();
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

  /** What the host holds now: its worker, the worker's WebAssembly memory, compiled modules. */
  stats(): WasmHostStats {
    return {
      worker: this.#worker ? 'ready' : this.#starting ? 'starting' : 'none',
      memoryBytes: this.#worker ? this.#memoryBytes : 0,
      modules: this.#modules.length,
      workersStarted: this.#workersStarted,
    };
  }

  /** Terminates the worker and lets go of the compiled modules; pending calls reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopIdleTimer();
    const err = this.#o.toError({ kind: 'closed' });
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    if (this.#current) this.#settle(this.#current, err);
    this.#current = undefined;
    const worker = this.#worker;
    const starting = this.#starting?.worker;
    this.#letGo();
    await Promise.all([worker?.terminate(), starting?.catch(() => undefined)]);
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#worker?.unref();
      this.#startIdleTimer();
      return;
    }
    this.#current = job;
    const { limits } = job.call;
    this.#ensureWorker(limits.maxMemoryBytes).then(
      (worker) => {
        if (this.#current !== job) return; // aborted while the worker started
        worker.ref();
        this.#timer = this.#lifetime.clock.setTimeout(() => this.#fail(job, this.#o.toError({ kind: 'limit', limit: 'timeoutMs', value: limits.timeoutMs })), limits.timeoutMs);
        worker.postMessage({ type: 'render', id: job.id, request: job.call.request, args: job.call.args });
      },
      (err: unknown) => {
        if (this.#current === job) this.#finish(job, err);
      },
    );
  }

  #startIdleTimer(): void {
    const { idleTimeoutMs, clock } = this.#lifetime;
    if (this.#idleTimer || this.#closed || idleTimeoutMs === Infinity) return;
    if (!this.#worker && !this.#starting && this.#modules.length === 0) return;
    this.#idleTimer = clock.setTimeout(() => {
      this.#idleTimer = undefined;
      // A start in progress without a call is info() waiting for it; the worker arms the timer again when ready.
      if (!this.#current && this.#queue.length === 0 && !this.#starting) this.#letGo();
    }, idleTimeoutMs);
    // An idle engine never keeps the process alive, nor does the timer that releases it.
    (this.#idleTimer as { unref?: () => void }).unref?.();
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer) this.#lifetime.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Terminates the worker (a start in progress ends itself) and releases the compiled modules. */
  #letGo(): void {
    this.#retire();
    for (const lease of this.#modules.splice(0)) lease.release();
  }

  /**
   * Terminates the worker and abandons a start in progress (its worker terminates itself when
   * ready); the compiled modules stay, so the next call starts a worker without compiling.
   */
  #retire(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#starting = undefined;
    this.#memoryBytes = 0;
    if (worker) void worker.terminate();
  }

  #ensureWorker(maxMemoryBytes: number): Promise<Worker> {
    if (this.#worker && this.#workerCap === maxMemoryBytes) return Promise.resolve(this.#worker);
    if (this.#starting?.maxMemoryBytes === maxMemoryBytes) return this.#starting.worker;
    this.#retire();
    const token = Symbol('worker start');
    const worker = this.#startWorker(maxMemoryBytes, token).finally(() => {
      if (this.#starting?.token === token) this.#starting = undefined;
    });
    this.#starting = { token, maxMemoryBytes, worker };
    return worker;
  }

  /** The compiled module for `maxMemoryBytes`, held by this host until it is idle or closed. */
  #module(maxMemoryBytes: number): ModuleLease<CompiledModule> {
    const key = `${maxMemoryBytes}\0${this.#o.wasmPath}`;
    let lease = this.#modules.find((l) => l.key === key);
    if (lease) {
      this.#modules.splice(this.#modules.indexOf(lease), 1);
    } else {
      lease = modules.claim(key, () => compileCapped(this.#o.wasmPath, maxMemoryBytes));
      const claimed = lease;
      // A module that failed to compile is not kept: the next call tries again.
      claimed.module.catch(() => {
        if (this.#modules.includes(claimed)) this.#modules.splice(this.#modules.indexOf(claimed), 1);
        claimed.release();
      });
    }
    this.#modules.push(lease);
    while (this.#modules.length > MODULES_KEPT) this.#modules.shift()!.release();
    return lease;
  }

  /** Starts a worker; `token` tells whether the host still wants it (see {@link WorkerStart}). */
  async #startWorker(maxMemoryBytes: number, token: symbol): Promise<Worker> {
    const { engineName, wasmPath } = this.#o;
    const wanted = () => this.#starting?.token === token;
    let module: CompiledModule;
    try {
      module = await this.#module(maxMemoryBytes).module;
    } catch (err) {
      if (err instanceof InvalidLimit) throw this.#o.toError({ kind: 'invalid-limit', limit: 'maxMemoryBytes', value: maxMemoryBytes, reason: err.message });
      throw this.#o.toError({ kind: 'unavailable', reason: `cannot load the ${engineName} wasm engine at ${wasmPath}: ${(err as Error).message}`, cause: err });
    }
    if (!wanted()) throw this.#o.toError({ kind: 'closed' });
    this.#workersStarted++;
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
            if (!wanted()) {
              // Abandoned while it started: closed, idle, or a call with another cap came first.
              void worker.terminate().then(() => reject(this.#o.toError({ kind: 'closed' })));
              break;
            }
            worker.on('error', (err) => this.#crash(worker, { kind: 'error', err }));
            worker.on('exit', (code) => this.#crash(worker, { kind: 'worker-exit', code }));
            this.#info = msg.info;
            this.#worker = worker;
            this.#workerCap = maxMemoryBytes;
            this.#memoryBytes = msg.memoryBytes;
            if (!this.#current) {
              worker.unref();
              this.#startIdleTimer();
            }
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
            if (this.#current?.id !== msg.id) break;
            this.#memoryBytes = msg.memoryBytes;
            // WebAssembly memory never shrinks: a worker a large render left big is replaced
            // now, before the next call, which starts a fresh one from the compiled module.
            if (msg.memoryBytes > this.#lifetime.recycleAboveMemoryBytes) this.#retire();
            this.#finish(this.#current, undefined, { json: msg.json, log: msg.log });
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
    this.#retire();
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
    this.#memoryBytes = 0;
    this.#finish(job, err);
    if (worker) void worker.terminate();
  }

  #finish(job: Job, err: unknown, reply?: HostReply): void {
    if (this.#current !== job) return;
    if (this.#timer) this.#lifetime.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
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
