import { InvalidOptionsError, systemClock, type Clock } from '@converge/core';

/**
 * When a {@link WasmHost} lets go of its engine's memory. A warm Go engine costs its process
 * the module's bytes and machine code (about 100 MiB for Helm's 80 MiB module), the engine's
 * WebAssembly memory, which only ever grows, and Node itself (about 45 MiB). None of it is
 * needed between renders, and a reconciler renders only when a revision changes; the process's
 * exit gives all of it back to the system.
 */
export interface EngineLifetimeOptions {
  /**
   * After this long without a call, the engine's process is stopped. The next call starts one
   * again (about 1 s for Helm, more on a busy machine). `Infinity` keeps it for the life of the
   * host.
   * @default 30_000
   */
  idleTimeoutMs?: number;
  /**
   * After a call that leaves the engine's WebAssembly memory larger than this, the engine's
   * process is replaced: a WebAssembly memory never shrinks, so one large render would otherwise
   * keep its peak for the life of the process. The next call starts a new one (about 1 s for
   * Helm). `Infinity` never replaces it.
   * @default 128 MiB (Helm's engine starts at about 34 MiB, Kustomize's at about 13 MiB)
   */
  recycleAboveMemoryBytes?: number;
  /**
   * Time for `idleTimeoutMs` and for each call's `timeoutMs`; tests pass a `FakeClock`.
   * @default systemClock
   */
  clock?: Clock;
}

/** {@link EngineLifetimeOptions} with their defaults. */
export type ResolvedEngineLifetime = Required<EngineLifetimeOptions>;

/** The defaults of {@link EngineLifetimeOptions}. */
export const DEFAULT_ENGINE_LIFETIME = {
  idleTimeoutMs: 30_000,
  recycleAboveMemoryBytes: 128 * 1024 * 1024,
} as const;

/**
 * Fills in the defaults of {@link EngineLifetimeOptions}.
 * @throws InvalidOptionsError (`INVALID_OPTIONS`) for a negative or non-numeric duration or size.
 */
export function resolveEngineLifetime(o: EngineLifetimeOptions): ResolvedEngineLifetime {
  const resolved = {
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_ENGINE_LIFETIME.idleTimeoutMs,
    recycleAboveMemoryBytes: o.recycleAboveMemoryBytes ?? DEFAULT_ENGINE_LIFETIME.recycleAboveMemoryBytes,
    clock: o.clock ?? systemClock,
  };
  for (const option of ['idleTimeoutMs', 'recycleAboveMemoryBytes'] as const) {
    const value = resolved[option];
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new InvalidOptionsError(`${option} must be a number of ${option === 'idleTimeoutMs' ? 'milliseconds' : 'bytes'} from 0 to Infinity, not ${String(value)}`, { option });
    }
  }
  return resolved;
}

/** What a {@link WasmHost} holds right now, e.g. for a metrics endpoint or a test. */
export interface WasmHostStats {
  /**
   * The engine's process: `none` before the first call, after an idle release, a recycle or a
   * failure; `starting` while one starts; `ready` while one is running or waiting for calls.
   */
  process: 'none' | 'starting' | 'ready';
  /** The engine process's id while it is `ready`. */
  pid: number | undefined;
  /** The size of the engine's WebAssembly memory after its last call, in bytes; 0 without a process. */
  memoryBytes: number;
  /** The engine process's resident memory after its last call, in bytes; 0 without a process. */
  rssBytes: number;
  /** Engine processes started since the host was created. */
  processesStarted: number;
}
