import type { KubeObject } from './object.js';

/** What a gate says about a desired state. */
export type GateResult = { ok: true } | { ok: false; message: string; data?: Record<string, unknown> };

/**
 * A check that must pass before anything is applied, e.g. "every image exists in its
 * registry". A blocked gate fails the pass with a retryable `GateError`; nothing is applied or pruned.
 */
export interface Gate {
  /** Shown in events and errors. */
  readonly name: string;
  /** Checks the desired objects of a revision; resolves `{ ok: false, message }` to hold the pass back. */
  check(objects: readonly KubeObject[], ctx: { revision: string; signal?: AbortSignal }): Promise<GateResult>;
}
