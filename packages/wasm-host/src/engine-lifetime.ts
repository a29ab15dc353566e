import { InvalidOptionsError, systemClock, type Clock } from '@converge/core';

/**
 * When a {@link WasmHost} lets go of its engine's memory. A warm Go engine costs the process its
 * compiled module (the module's bytes and machine code: about 100 MiB for Helm's 80 MiB module)
 * and its worker (the engine's WebAssembly memory, which only ever grows, and the worker's
 * JavaScript heap: about 45 MiB for Helm after a small chart). Neither is needed between
 * renders, and a reconciler renders only when a revision changes.
 */
export interface EngineLifetimeOptions {
  /**
   * After this long without a call, the worker is terminated and the compiled module let go
   * (unless another host of the same engine holds it). The next call compiles the module and
   * starts a worker again (about 1–3 s for Helm, more on a busy machine). `Infinity` keeps both
   * for the life of the host.
   * @default 30_000
   */
  idleTimeoutMs?: number;
  /**
   * After a call that leaves the engine's WebAssembly memory larger than this, the worker is
   * replaced: a WebAssembly memory never shrinks, so one large render would otherwise keep its
   * peak for the life of the worker. The next call starts a worker from the compiled module
   * (about 1 s for Helm). `Infinity` never replaces it.
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
   * `none` before the first call, after an idle release, a recycle or a failure; `starting`
   * while a worker starts; `ready` while one is running or waiting for calls.
   */
  worker: 'none' | 'starting' | 'ready';
  /** The size of the worker's WebAssembly memory after its last call, in bytes; 0 without a worker. */
  memoryBytes: number;
  /** Compiled modules this host holds (at most two: the caps of its last two workers). */
  modules: number;
  /** Workers started since the host was created. */
  workersStarted: number;
}
