// The child process that hosts one Go engine compiled to WebAssembly (see src/wasm-host.ts).
//
// A process of its own, not a worker thread: when the host lets go of the engine, the process
// exits and the system takes back everything it touched — the compiled module, the engine's
// WebAssembly memory, and the native memory the compiler and the collector left behind, which a
// worker thread leaves in the host's process for good. A crash of the engine, or of V8 running
// it, ends this process, never the host's.
//
// Plain JavaScript on purpose: it ships as-is in the npm package and runs the same from the
// TypeScript sources (tests) and from dist/. The Go program gets no file system, no network
// and no environment but GODEBUG: `globalThis.fs` is a stub that only collects what Go writes
// to stdout/stderr, and `fetch` is removed (Go's net/http would otherwise use it), so an
// engine can read nothing but what it was given and what the host answers. The host starts
// this process with an empty environment.
//
// The Go program registers `globalThis[globalName] = { render(request, ...args): Promise<string>, info(): string }`
// and calls `globalThis.convergeEngineReady()`. During a render it may call
// `globalThis.convergeHostCall(kind, payload)`, a Promise the host settles.
//
// Protocol (IPC messages, structured-cloned: Node's `advanced` serialization):
//   in:  { type: 'start', wasmPath, size, head: Uint8Array, restOffset, wasmExecUrl, globalName, argv0 }
//        (the module is `head` — its first sections with the memory maximum the host declared —
//        then the file `wasmPath`, `size` bytes long, from `restOffset` on)
//   in:  { type: 'render', id, request: string, args: unknown[] }
//   in:  { type: 'call-result', callId, value?: unknown, error?: string }
//   out: { type: 'ready', info: string, memoryBytes, rssBytes } | { type: 'fatal', message }
//   out: { type: 'call', id, callId, kind, payload: string }
//   out: { type: 'result', id, json: string, log: string, memoryBytes, rssBytes }
//        (memoryBytes: the wasm memory's size; rssBytes: this process's resident memory)
//   out: { type: 'exit', code, log }                                         (the Go program ended)
//
// The Go program ends only on a fatal error: out of memory (the host capped the module's
// memory), stack overflow, or a runtime bug. Go prints "fatal error: …" and a goroutine dump
// to stderr (captured in `log`, at most 1 MiB) and exits; the host reads the reason from
// `log` and kills this process. When the host goes away (its IPC channel closes), so does this.
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

// The host went away: so does the engine. A render that runs away never yields to this event
// loop, so 'disconnect' alone would leave it spinning as an orphan; a watchdog thread of its own
// ends the process once its parent is gone, whatever the engine is doing.
process.on('disconnect', () => process.exit(0));
const watchdog = new Worker(
  `const parent = process.ppid;
   setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, 500);`,
  { eval: true, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 } },
);
watchdog.unref();

const send = (message) => process.send?.(message);
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

/** The capped module: `head`, then the file from `restOffset` on, read straight into one buffer. */
async function readModule({ wasmPath, size, head, restOffset }) {
  const file = await open(wasmPath);
  try {
    const actual = (await file.stat()).size;
    if (actual !== size) throw new Error(`${wasmPath} changed while the engine started (${size} bytes, now ${actual})`);
    const bytes = new Uint8Array(head.length + size - restOffset);
    bytes.set(head);
    for (let read = 0; read < size - restOffset; ) {
      const { bytesRead } = await file.read(bytes, head.length + read, size - restOffset - read, restOffset + read);
      if (bytesRead === 0) throw new Error(`${wasmPath} ended after ${restOffset + read} of ${size} bytes`);
      read += bytesRead;
    }
    return bytes;
  } finally {
    await file.close();
  }
}

async function start(options) {
  await import(options.wasmExecUrl);
  const go = new globalThis.Go();
  // A stop-the-world collector. js/wasm has one thread, so a concurrent cycle gains nothing,
  // and it can stall: a render never yields, the background mark worker never runs to end a
  // cycle, and until the render ends everything it allocates is kept as live.
  go.env = { GODEBUG: 'gcstoptheworld=1' };
  go.argv = [options.argv0];
  let exited = false;
  go.exit = (code) => {
    exited = true;
    send({ type: 'exit', code, log });
  };
  const ready = new Promise((resolve) => {
    globalThis.convergeEngineReady = resolve;
  });
  const module = await WebAssembly.compile(await readModule(options));
  const instance = await WebAssembly.instantiate(module, go.importObject);
  // The engine's linear memory: WebAssembly memory grows and never shrinks, so the host replaces
  // a process whose memory a large render left big (WasmHost's recycleAboveMemoryBytes).
  const memory = () => ({ memoryBytes: instance.exports.mem.buffer.byteLength, rssBytes: process.memoryUsage.rss() });
  const run = go.run(instance).then(
    () => {
      if (!exited) send({ type: 'exit', code: 0, log });
    },
    (err) => send({ type: 'exit', code: -1, log: `${log}\n${err?.stack ?? err}` }),
  );
  await Promise.race([ready, run]);
  const engine = globalThis[options.globalName];
  if (!engine) throw new Error(`the Go program did not start: ${log}`);
  log = '';
  send({ type: 'ready', info: engine.info(), ...memory() });
  return { engine, memory };
}

let started;
const calls = new Map();
let nextCall = 1;
let renderId = 0;
globalThis.convergeHostCall = (kind, payload) =>
  new Promise((resolve, reject) => {
    const callId = nextCall++;
    calls.set(callId, { resolve, reject });
    send({ type: 'call', id: renderId, callId, kind, payload });
  });

process.on('message', async (msg) => {
  if (msg.type === 'start') {
    started = start(msg);
    // The reason, and the first line Go printed if any — not a JavaScript stack.
    started.catch((err) => send({ type: 'fatal', message: [err?.message ?? String(err), log.trim().split('\n')[0]].filter(Boolean).join(': ') }));
    return;
  }
  if (msg.type === 'call-result') {
    const pending = calls.get(msg.callId);
    calls.delete(msg.callId);
    if (msg.error !== undefined) pending?.reject(new Error(msg.error));
    else pending?.resolve(msg.value);
    return;
  }
  const { engine, memory } = await started;
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
  send({ type: 'result', id: msg.id, json, log: out, ...memory() });
});
