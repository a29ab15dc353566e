/** The bounds of one engine call (rule 10 of the design: every engine has a memory and output cap). */
export interface EngineLimits {
  /**
   * Upper bound on the engine's whole WebAssembly memory (heap, stacks, its copy of the
   * input), in bytes: a hard cap declared on the module's memory, so `memory.grow` past it fails.
   */
  maxMemoryBytes: number;
  /** Upper bound on the engine's output, in bytes (the engine enforces it; the host passes it on). */
  maxOutputBytes: number;
  /** Upper bound on one call, in milliseconds. */
  timeoutMs: number;
}

/** Which bound a call exceeded: the option's name. */
export type EngineLimit = keyof EngineLimits;

/**
 * Why the host could not give a reply, for the engine package to turn into its own error
 * class (see {@link WasmHostOptions.toError}). Never holds the engine's log or output.
 *
 * - `limit` — a bound was exceeded (`detail` says how, e.g. "stack overflow"); the worker was replaced.
 * - `crashed` — the Go program died for another reason (`reason` is Go's one-line message).
 * - `invalid-limit` — `maxMemoryBytes` cannot be declared on the module (e.g. below the memory
 *   it starts with); nothing was run.
 * - `invalid-input` — the call's arguments cannot be structured-cloned into the engine's process
 *   (e.g. a function or a Proxy); nothing was run and the engine is kept.
 * - `unavailable` — the wasm cannot be read, compiled or started.
 * - `start-timeout` — `info()` waited `timeoutMs` for the engine's process to start; the start was stopped.
 * - `closed` — the host was closed.
 */
export type HostFailure =
  | { kind: 'limit'; limit: EngineLimit; value: number; detail?: string }
  | { kind: 'invalid-limit'; limit: 'maxMemoryBytes'; value: number; reason: string }
  | { kind: 'crashed'; reason: string; exitCode?: number }
  | { kind: 'invalid-input'; reason: string }
  | { kind: 'unavailable'; reason: string; cause?: unknown }
  | { kind: 'start-timeout'; timeoutMs: number }
  | { kind: 'closed' };

/** `536870912 bytes (512 MiB)`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = '';
  for (const u of ['KiB', 'MiB', 'GiB']) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit ? `${bytes} bytes (${Number(value.toFixed(1))} ${unit})` : `${bytes} bytes`;
}

/**
 * The failure for a Go program that died: it printed `fatal error: …` (and a goroutine dump,
 * never passed on) to `log` and exited with `exitCode`. Running out of the capped memory or
 * stack is a `maxMemoryBytes` limit; anything else is `crashed` with Go's one-line reason.
 */
export function crashFailure(log: string, exitCode: number, limits: EngineLimits): HostFailure {
  const fatal = /^fatal error: (.*)$/m.exec(log)?.[1]?.trim() ?? /^panic: (.*)$/m.exec(log)?.[1]?.trim();
  if (fatal && /out of memory|cannot allocate memory/.test(fatal)) return { kind: 'limit', limit: 'maxMemoryBytes', value: limits.maxMemoryBytes };
  if (fatal && /stack overflow/.test(fatal)) {
    const stack = /goroutine stack exceeds (\d+)-byte limit/.exec(log)?.[1];
    const detail = `the engine recursed deeper than its stack limit${stack ? ` of ${formatBytes(Number(stack))}` : ''}`;
    return { kind: 'limit', limit: 'maxMemoryBytes', value: limits.maxMemoryBytes, detail };
  }
  return { kind: 'crashed', exitCode, reason: fatal ? fatal.slice(0, 300) : `exit code ${exitCode}` };
}

/** How {@link limitMessage} names what an engine renders, e.g. `{ cause: 'A template', subject: 'a chart' }`. */
export interface LimitWording {
  /** What can run away, capitalised: `A template`, `A kustomization`. */
  cause: string;
  /** What may legitimately need more: `a chart`, `a kustomization`. */
  subject: string;
}

/**
 * The message for an exceeded bound, naming the option, its value and what to do. It never
 * holds engine output (no partial manifest — it may hold Secrets — and no goroutine dump).
 */
export function limitMessage(limit: EngineLimit, value: number, wording: LimitWording, detail?: string): string {
  const stopped = 'the engine was stopped and is replaced for the next render';
  if (limit === 'maxMemoryBytes') {
    return (
      `the render needed more memory than maxMemoryBytes allows (${formatBytes(value)})${detail ? `: ${detail}` : ''}; ${stopped}. ` +
      `${wording.cause} that recurses or loops without bound does this; raise maxMemoryBytes only for ${wording.subject} that really needs more`
    );
  }
  if (limit === 'timeoutMs') {
    return (
      `the render took longer than timeoutMs allows (${value} ms); ${stopped}. ` +
      `${wording.cause} that loops without bound does this; raise timeoutMs only for ${wording.subject} that really needs more`
    );
  }
  return (
    `the rendered output is larger than maxOutputBytes allows (${formatBytes(value)})${detail ? `: ${detail}` : ''}. ` +
    `Raise maxOutputBytes only for ${wording.subject} that really renders that much`
  );
}
