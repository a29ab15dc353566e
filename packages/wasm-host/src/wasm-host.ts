import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AbortedError, type TimerHandle } from '@converge/core';
import { resolveEngineLifetime, type EngineLifetimeOptions, type ResolvedEngineLifetime, type WasmHostStats } from './engine-lifetime.js';
import { crashFailure, formatBytes, type EngineLimits, type HostFailure } from './engine-limits.js';
import { readMemoryMaximumHead, type ModuleHead } from './internal/read-module-head.js';

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
   * Limits used when {@link WasmHost.info} starts the engine before any call.
   * @default 512 MiB of memory
   */
  defaultMaxMemoryBytes?: number;
}

/** One call into the engine. */
export interface HostCall {
  /** The request, as the Go program's `render` takes it (usually JSON). */
  request: string;
  /** Further arguments of `render`, structured-cloned into the engine's process (e.g. `[name, bytes][]`). */
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

type EngineMessage =
  | { type: 'ready'; info: string; memoryBytes: number; rssBytes: number }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; json: string; log: string; memoryBytes: number; rssBytes: number }
  | { type: 'call'; id: number; callId: number; kind: string; payload: string }
  | { type: 'exit'; code: number; log: string };

type EngineCrash = { kind: 'go-exit'; code: number; log: string } | { kind: 'error'; err: Error } | { kind: 'process-exit'; code: number | null; signal: string | null; stderr: string };

/**
 * The JavaScript heap limit of an engine process, in MiB: it holds the input sent in, at most
 * 1 MiB of log and one reply (bounded by the engine's output cap, built inside the capped wasm
 * memory first).
 */
function engineHeapMb(maxMemoryBytes: number): number {
  return Math.max(128, Math.ceil(maxMemoryBytes / 2 / 1024 / 1024));
}

/** What the host keeps of an engine process's stderr: V8's own fatal errors, never the engine's log. */
const STDERR_KEPT = 8 * 1024;

const ENGINE_PATH = join(dirname(dirname(fileURLToPath(import.meta.url))), 'child', 'engine-process.mjs');

/** How long {@link WasmHost.info} waits for the engine to start unless told otherwise (a start takes 1–5 s). */
const DEFAULT_INFO_TIMEOUT_MS = 60_000;

/** Options of {@link WasmHost.info}. */
export interface InfoOptions {
  /** How long to wait for the engine's process to start. @default 60000 */
  timeoutMs?: number | undefined;
  /** Stops waiting. */
  signal?: AbortSignal | undefined;
}

/** A start the host no longer wants (closed, idle, a call with another cap, an abort or a timeout came first). */
class AbandonedStart extends Error {}

/** An engine process being started for one memory cap; abandoned (see `#retire`) when the host moves on. */
interface EngineStart {
  maxMemoryBytes: number;
  /** The process, once forked. */
  child?: ChildProcess;
  /** Resolves with the process once its engine is ready. */
  ready?: Promise<ChildProcess>;
}

/**
 * Runs a Go program compiled to WebAssembly (GOOS=js) in a child process of its own, reused
 * across calls. Calls are queued and run one at a time.
 *
 * Every call is bounded: memory by the maximum declared on the module's memory
 * (`maxMemoryBytes`, patched in as the module is read, so the Go runtime dies with "out of
 * memory" past it), time by `timeoutMs` (from the moment the call is taken from the queue, the
 * engine's start included), and the engine is told `maxOutputBytes`. A call that breaks a
 * bound, crashes the engine, or is aborted kills the engine's process and fails (through
 * {@link WasmHostOptions.toError}, or an `AbortedError`); the next call starts a new one, so a
 * runaway input never takes the host's process down or poisons the calls after it. The
 * engine's JavaScript heap is bounded too.
 *
 * Between calls the host lets go of memory (see {@link EngineLifetimeOptions}): a process whose
 * WebAssembly memory a call left above `recycleAboveMemoryBytes` is replaced, and after
 * `idleTimeoutMs` without a call it is stopped. Its exit gives the system back all of its
 * memory, where a worker thread would leave the native memory its compiler and collector
 * touched in the host's process. {@link WasmHost.stats} says what is held.
 *
 * The Go program has no file system, network or environment: it sees only the request and
 * what {@link HostCall.onCall} answers. Its process starts with an empty environment and
 * without the host's Node flags, and exits when the host's process does.
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
  #engine: ChildProcess | undefined;
  #engineCap = 0;
  #memoryBytes = 0;
  #rssBytes = 0;
  #starting: EngineStart | undefined;
  /** Processes killed or stopped and not yet exited; `close()` waits for them. */
  readonly #exiting = new Set<Promise<void>>();
  #processesStarted = 0;
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

  /**
   * Starts the engine now (instead of on the first call) and returns what the engine's `info()` returned.
   * Rejects (through {@link WasmHostOptions.toError}) once the host is closed: a process started then would outlive it.
   * A start that takes longer than `options.timeoutMs` (a process frozen, a machine swapping) or that
   * `options.signal` aborts rejects (`start-timeout`, or an `AbortedError`) and is killed unless a call waits for it.
   */
  async info(options: InfoOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_INFO_TIMEOUT_MS;
    const { signal } = options;
    const aborted = (): AbortedError => new AbortedError(`${this.#o.engineName} engine start aborted`);
    if (signal?.aborted) throw aborted();
    const { clock } = this.#lifetime;
    let timer: TimerHandle | undefined;
    let onAbort: (() => void) | undefined;
    const givenUp = new AbortController();
    const bounded = new Promise<never>((_, reject) => {
      const giveUp = (err: Error): void => {
        givenUp.abort();
        // A call waiting for this start has its own timeout; an engine nobody waits for goes.
        if (!this.#current && this.#queue.length === 0) this.#retire();
        reject(err);
      };
      timer = clock.setTimeout(() => giveUp(this.#o.toError({ kind: 'start-timeout', timeoutMs })), timeoutMs);
      onAbort = () => giveUp(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#startForInfo(givenUp.signal), bounded]);
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The engine's info once one runs: waits for the start in progress, or starts one, until `givenUp`. */
  async #startForInfo(givenUp: AbortSignal): Promise<string> {
    for (;;) {
      if (this.#closed) throw this.#o.toError({ kind: 'closed' });
      if (givenUp.aborted) throw new AbandonedStart();
      const cap = this.#starting?.maxMemoryBytes ?? (this.#engine ? this.#engineCap : (this.#o.defaultMaxMemoryBytes ?? 512 * 1024 * 1024));
      try {
        await this.#ensureEngine(cap);
        return this.#info!;
      } catch (err) {
        // The start it waited for was abandoned (a call with another cap, an abort, a timeout):
        // unless the host is closed, wait for the engine that runs now, or start one.
        if (!(err instanceof AbandonedStart)) throw err;
      }
    }
  }

  /** Runs one call. Rejects with the engine's error (see {@link WasmHostOptions.toError}) or an `AbortedError`. */
  call(call: HostCall): Promise<HostReply> {
    if (this.#closed) return Promise.reject(this.#o.toError({ kind: 'closed' }));
    if (call.signal?.aborted) return Promise.reject(new AbortedError(`${this.#o.engineName} render aborted`));
    // The engine holds its whole input in its memory: an input larger than the cap cannot be
    // rendered, and is refused before it is copied to the engine's process.
    const input = inputBytes([call.request, call.args]);
    if (input > call.limits.maxMemoryBytes) {
      const detail = `the input alone is ${formatBytes(input)}`;
      return Promise.reject(this.#o.toError({ kind: 'limit', limit: 'maxMemoryBytes', value: call.limits.maxMemoryBytes, detail }));
    }
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

  /** What the host holds now: its engine process, that process's memory. */
  stats(): WasmHostStats {
    return {
      process: this.#engine ? 'ready' : this.#starting ? 'starting' : 'none',
      pid: this.#engine?.pid,
      memoryBytes: this.#engine ? this.#memoryBytes : 0,
      rssBytes: this.#engine ? this.#rssBytes : 0,
      processesStarted: this.#processesStarted,
    };
  }

  /** Kills the engine's process and waits for it to exit; pending calls reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopIdleTimer();
    const err = this.#o.toError({ kind: 'closed' });
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    // Through #finish, so the call's timer goes too: it would keep the host's process alive for up to timeoutMs.
    if (this.#current) this.#finish(this.#current, err);
    this.#retire();
    await Promise.all(this.#exiting);
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) {
      if (this.#engine) unref(this.#engine);
      this.#startIdleTimer();
      return;
    }
    this.#current = job;
    const { limits } = job.call;
    // The engine's start counts against the call's time: a start that hangs fails the call.
    this.#timer = this.#lifetime.clock.setTimeout(() => this.#fail(job, this.#o.toError({ kind: 'limit', limit: 'timeoutMs', value: limits.timeoutMs })), limits.timeoutMs);
    this.#ensureEngine(limits.maxMemoryBytes).then(
      (engine) => {
        if (this.#current !== job) return; // ended (aborted, timed out) while the engine started
        ref(engine);
        try {
          engine.send({ type: 'render', id: job.id, request: job.call.request, args: job.call.args });
        } catch (err) {
          // Nothing was written (serializing comes first): the engine is fine, the call's input is not.
          this.#finish(job, this.#o.toError({ kind: 'invalid-input', reason: `its arguments cannot be sent to the engine's process: ${errorText(err)}` }));
        }
      },
      (err: unknown) => {
        if (this.#current === job) this.#finish(job, err instanceof AbandonedStart ? this.#o.toError({ kind: 'closed' }) : err);
      },
    );
  }

  #startIdleTimer(): void {
    const { idleTimeoutMs, clock } = this.#lifetime;
    if (this.#idleTimer || this.#closed || idleTimeoutMs === Infinity) return;
    if (!this.#engine && !this.#starting) return;
    this.#idleTimer = clock.setTimeout(() => {
      this.#idleTimer = undefined;
      // A start in progress without a call is info() waiting for it; the engine arms the timer again when ready.
      if (!this.#current && this.#queue.length === 0 && !this.#starting) this.#retire();
    }, idleTimeoutMs);
    // An idle engine never keeps the process alive, nor does the timer that releases it.
    (this.#idleTimer as { unref?: () => void }).unref?.();
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer) this.#lifetime.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Kills the engine's process and one being started; the next call starts a new one. */
  #retire(): void {
    const engine = this.#engine;
    const starting = this.#starting?.child;
    this.#engine = undefined;
    this.#starting = undefined;
    this.#memoryBytes = 0;
    this.#rssBytes = 0;
    if (engine) this.#kill(engine);
    if (starting) this.#kill(starting);
  }

  #kill(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.#exiting.add(exited);
    void exited.then(() => this.#exiting.delete(exited));
    // An idle engine's process is unref'd: ref it again, or close() could be left waiting for an
    // exit the event loop no longer stays up for.
    ref(child);
    child.kill('SIGKILL');
  }

  #ensureEngine(maxMemoryBytes: number): Promise<ChildProcess> {
    if (this.#engine && this.#engineCap === maxMemoryBytes) return Promise.resolve(this.#engine);
    if (this.#starting?.maxMemoryBytes === maxMemoryBytes && this.#starting.ready) return this.#starting.ready;
    this.#retire();
    const start: EngineStart = { maxMemoryBytes };
    this.#starting = start;
    const ready = this.#startEngine(start).finally(() => {
      if (this.#starting === start) this.#starting = undefined;
    });
    start.ready = ready;
    return ready;
  }

  /** Starts an engine process; `start` tells whether the host still wants it (see {@link EngineStart}). */
  async #startEngine(start: EngineStart): Promise<ChildProcess> {
    const { engineName, wasmPath } = this.#o;
    const { maxMemoryBytes } = start;
    const wanted = () => this.#starting === start;
    let head: ModuleHead;
    try {
      // Read again for every process, never kept: the file may have been replaced since the last
      // start (a rebuild, an upgrade in place), and its head must match the rest the process reads.
      head = await readMemoryMaximumHead(wasmPath, maxMemoryBytes);
    } catch (err) {
      if (err instanceof RangeError) {
        throw this.#o.toError({ kind: 'invalid-limit', limit: 'maxMemoryBytes', value: maxMemoryBytes, reason: (err as Error).message });
      }
      throw this.#o.toError({ kind: 'unavailable', reason: `cannot load the ${engineName} wasm engine at ${wasmPath}: ${(err as Error).message}`, cause: err });
    }
    if (!wanted()) throw new AbandonedStart();
    this.#processesStarted++;
    const child = fork(ENGINE_PATH, [], {
      execArgv: [`--max-old-space-size=${engineHeapMb(maxMemoryBytes)}`],
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    start.child = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    child.send({
      type: 'start',
      wasmPath,
      size: head.moduleBytes,
      head: head.bytes,
      restOffset: head.restOffset,
      wasmExecUrl: pathToFileURL(this.#o.wasmExecPath).href,
      globalName: this.#o.globalName,
      argv0: `${engineName}-engine`,
    });
    return new Promise<ChildProcess>((resolve, reject) => {
      const onStartError = (err: unknown) => {
        this.#kill(child);
        reject(this.#o.toError({ kind: 'unavailable', reason: `the ${engineName} wasm engine failed to start: ${String(err)}`, cause: err }));
      };
      const onStartExit = (code: number | null, signal: string | null) => {
        if (!wanted()) return reject(new AbandonedStart());
        onStartError(`its process exited with ${signal ?? `code ${code}`}${stderr ? `: ${firstLine(stderr)}` : ''}`);
      };
      child.once('error', onStartError);
      child.once('exit', onStartExit);
      child.on('message', (msg: EngineMessage) => {
        switch (msg.type) {
          case 'ready':
            child.off('error', onStartError);
            child.off('exit', onStartExit);
            if (!wanted()) {
              // Abandoned while it started: closed, idle, or a call with another cap came first.
              this.#kill(child);
              reject(new AbandonedStart());
              break;
            }
            child.on('error', (err) => this.#crash(child, { kind: 'error', err }));
            child.on('exit', (code, signal) => this.#crash(child, { kind: 'process-exit', code, signal, stderr }));
            this.#info = msg.info;
            this.#engine = child;
            this.#engineCap = maxMemoryBytes;
            this.#memoryBytes = msg.memoryBytes;
            this.#rssBytes = msg.rssBytes;
            if (!this.#current) {
              unref(child);
              this.#startIdleTimer();
            }
            resolve(child);
            break;
          case 'fatal':
            onStartError(msg.message);
            break;
          case 'exit':
            this.#crash(child, { kind: 'go-exit', code: msg.code, log: msg.log });
            break;
          case 'result':
            if (this.#current?.id !== msg.id || this.#engine !== child) break;
            this.#memoryBytes = msg.memoryBytes;
            this.#rssBytes = msg.rssBytes;
            // WebAssembly memory never shrinks: a process a large render left big is replaced
            // now, before the next call, which starts a fresh one.
            if (msg.memoryBytes > this.#lifetime.recycleAboveMemoryBytes) this.#retire();
            this.#finish(this.#current, undefined, { json: msg.json, log: msg.log });
            break;
          case 'call':
            this.#onCall(child, msg);
            break;
        }
      });
    });
  }

  /**
   * The engine called the host: ask the call's handler and answer the engine. Whatever the
   * handler resolves or rejects with, the engine gets an answer: a value that cannot be cloned
   * (a function, a symbol) or a rejection that cannot be printed becomes an error for the engine,
   * never an unhandled rejection in the host and a call left waiting for its timeout.
   */
  #onCall(engine: ChildProcess, msg: { id: number; callId: number; kind: string; payload: string }): void {
    const reply = (answer: { value?: unknown; error?: string }) => {
      if (this.#engine !== engine) return;
      try {
        engine.send({ type: 'call-result', callId: msg.callId, ...answer });
      } catch (err) {
        engine.send({ type: 'call-result', callId: msg.callId, error: `the host's answer to "${msg.kind}" cannot be sent to the engine: ${errorText(err)}` });
      }
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
      (err: unknown) => reply({ error: errorText(err) }),
    );
  }

  /** The engine died. Fails the current call with the reason — never the engine's log — and restarts lazily. */
  #crash(engine: ChildProcess, how: EngineCrash): void {
    if (this.#engine !== engine) return;
    this.#retire();
    const job = this.#current;
    if (!job) return;
    const { limits } = job.call;
    let failure: HostFailure;
    if (how.kind === 'go-exit') failure = crashFailure(how.log, how.code, limits);
    else if (how.kind === 'process-exit' && /JavaScript heap out of memory|Reached heap limit/.test(how.stderr)) {
      failure = { kind: 'limit', limit: 'maxMemoryBytes', value: limits.maxMemoryBytes, detail: "the engine process's JavaScript heap ran out" };
    } else {
      const reason = how.kind === 'error' ? `process error: ${how.err.message}` : `process exited with ${how.signal ?? `code ${how.code}`}`;
      failure = { kind: 'crashed', reason };
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

  /** Ends the current call with `err` and kills the engine running it (or being started for it). */
  #fail(job: Job, err: unknown): void {
    this.#retire();
    this.#finish(job, err);
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

/**
 * The bytes of the strings and byte arrays in `value` (arrays and plain objects walked once
 * each), as sent to the engine. What cannot be walked (a throwing proxy) counts 0: sending it
 * then fails as `invalid-input`.
 */
function inputBytes(value: unknown): number {
  const seen = new Set<object>();
  const size = (v: unknown): number => {
    if (typeof v === 'string') return v.length;
    if (ArrayBuffer.isView(v)) return v.byteLength;
    if (v === null || typeof v !== 'object' || seen.has(v)) return 0;
    seen.add(v);
    return (Array.isArray(v) ? v : Object.values(v)).reduce((sum: number, item: unknown) => sum + size(item), 0);
  };
  try {
    return size(value);
  } catch {
    return 0;
  }
}

type Referable = { ref?: () => void; unref?: () => void } | null | undefined;

/** Lets the host's process exit while the engine waits for calls. */
function unref(child: ChildProcess): void {
  child.unref();
  (child.channel as Referable)?.unref?.();
  (child.stderr as Referable)?.unref?.();
}

/** Keeps the host's process alive while the engine runs a call. */
function ref(child: ChildProcess): void {
  child.ref();
  (child.channel as Referable)?.ref?.();
  (child.stderr as Referable)?.ref?.();
}

/** What a rejection says, for any value thrown: `String()` itself throws for an object without a prototype. */
function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]!.slice(0, 300);
}
