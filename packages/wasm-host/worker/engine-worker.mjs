// The worker thread that hosts one Go engine compiled to WebAssembly (see src/wasm-host.ts).
//
// Plain JavaScript on purpose: it ships as-is in the npm package and runs the same from the
// TypeScript sources (tests) and from dist/. The Go program gets no file system, no network
// and no environment but GODEBUG: `globalThis.fs` is a stub that only collects what Go writes
// to stdout/stderr, and `fetch` is removed (Go's net/http would otherwise use it), so an
// engine can read nothing but what it was given and what the host answers.
//
// The Go program registers `globalThis[globalName] = { render(request, ...args): Promise<string>, info(): string }`
// and calls `globalThis.convergeEngineReady()`. During a render it may call
// `globalThis.convergeHostCall(kind, payload)`, a Promise the host settles.
//
// Protocol:
//   in:  { wasmExecUrl, module: WebAssembly.Module, globalName, argv0 }      (workerData)
//   in:  { type: 'render', id, request: string, args: unknown[] }
//   in:  { type: 'call-result', callId, value?: unknown, error?: string }
//   out: { type: 'ready', info: string, memoryBytes } | { type: 'fatal', message }
//   out: { type: 'call', id, callId, kind, payload: string }
//   out: { type: 'result', id, json: string, log: string, memoryBytes }          (memoryBytes: the wasm memory's size)
//   out: { type: 'exit', code, log }                                         (the Go program ended)
//
// The Go program ends only on a fatal error: out of memory (the host capped the module's
// memory), stack overflow, or a runtime bug. Go prints "fatal error: …" and a goroutine dump
// to stderr (captured in `log`, at most 1 MiB) and exits; the host reads the reason from
// `log` and replaces this worker.
import { parentPort, workerData } from 'node:worker_threads';

const decoder = new TextDecoder('utf-8');
let log = '';

const enosys = () => Object.assign(new Error('not implemented'), { code: 'ENOSYS' });
const denied = (...args) => args[args.length - 1](enosys());

// The same shape as wasm_exec.js's own browser stub, with writes captured.
globalThis.fs = {
  constants: { O_WRONLY: -1, O_RDWR: -1, O_CREAT: -1, O_TRUNC: -1, O_APPEND: -1, O_EXCL: -1, O_DIRECTORY: -1 },
  writeSync(_fd, buf) {
    if (log.length < 1 << 20) log += decoder.decode(buf);
    return buf.length;
  },
  write(fd, buf, offset, length, position, callback) {
    if (offset !== 0 || length !== buf.length || position !== null) return callback(enosys());
    callback(null, this.writeSync(fd, buf));
  },
  fsync: (_fd, callback) => callback(null),
  chmod: denied, chown: denied, close: denied, fchmod: denied, fchown: denied, fstat: denied,
  ftruncate: denied, lchown: denied, link: denied, lstat: denied, mkdir: denied, open: denied,
  read: denied, readdir: denied, readlink: denied, rename: denied, rmdir: denied, stat: denied,
  symlink: denied, truncate: denied, unlink: denied, utimes: denied,
};
// No network from inside the engine: remote content comes only through host calls.
delete globalThis.fetch;

try {
  await import(workerData.wasmExecUrl);
  const go = new globalThis.Go();
  // A stop-the-world collector. js/wasm has one thread, so a concurrent cycle gains nothing,
  // and it can stall: a render never yields, the background mark worker never runs to end a
  // cycle, and until the render ends everything it allocates is kept as live.
  go.env = { GODEBUG: 'gcstoptheworld=1' };
  go.argv = [workerData.argv0];
  let exited = false;
  go.exit = (code) => {
    exited = true;
    parentPort.postMessage({ type: 'exit', code, log });
  };
  const ready = new Promise((resolve) => {
    globalThis.convergeEngineReady = resolve;
  });
  const instance = await WebAssembly.instantiate(workerData.module, go.importObject);
  // The engine's linear memory: WebAssembly memory grows and never shrinks, so the host replaces
  // a worker whose memory a large render left big (WasmHost's recycleAboveMemoryBytes).
  const memoryBytes = () => instance.exports.mem.buffer.byteLength;
  const run = go.run(instance).then(
    () => {
      if (!exited) parentPort.postMessage({ type: 'exit', code: 0, log });
    },
    (err) => parentPort.postMessage({ type: 'exit', code: -1, log: `${log}\n${err?.stack ?? err}` }),
  );
  await Promise.race([ready, run]);
  const engine = globalThis[workerData.globalName];
  if (!engine) throw new Error(`the Go program did not start: ${log}`);
  log = '';
  parentPort.postMessage({ type: 'ready', info: engine.info(), memoryBytes: memoryBytes() });

  const calls = new Map();
  let nextCall = 1;
  let renderId = 0;
  globalThis.convergeHostCall = (kind, payload) =>
    new Promise((resolve, reject) => {
      const callId = nextCall++;
      calls.set(callId, { resolve, reject });
      parentPort.postMessage({ type: 'call', id: renderId, callId, kind, payload });
    });

  parentPort.on('message', async (msg) => {
    if (msg.type === 'call-result') {
      const pending = calls.get(msg.callId);
      calls.delete(msg.callId);
      if (msg.error !== undefined) pending?.reject(new Error(msg.error));
      else pending?.resolve(msg.value);
      return;
    }
    renderId = msg.id;
    log = '';
    let json;
    try {
      json = await engine.render(msg.request, ...msg.args);
    } catch (err) {
      json = JSON.stringify({ ok: false, error: { kind: 'INTERNAL', message: String(err?.stack ?? err) } });
    }
    const out = log;
    log = '';
    parentPort.postMessage({ type: 'result', id: msg.id, json, log: out, memoryBytes: memoryBytes() });
  });
} catch (err) {
  parentPort.postMessage({ type: 'fatal', message: `${err?.stack ?? err}\n${log}` });
}
