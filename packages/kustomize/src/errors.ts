import { ConvergeError, type ConvergeErrorOptions } from '@converge/core';

/**
 * The failure kinds of `@converge/kustomize`, as `ConvergeError.code` values. Each names the
 * kustomization file (`data.position.file`, relative to the artifact) and, where kustomize
 * says it, the field (`data.field`).
 *
 * - `KUSTOMIZE_NOT_FOUND` — no such folder, or no kustomization in it (and generation is off).
 * - `KUSTOMIZE_RESOURCE_NOT_FOUND` — a `resources:` (or `components:`, patch, generator) file is missing.
 * - `KUSTOMIZE_CYCLE` — bases include each other.
 * - `KUSTOMIZE_INVALID` — the kustomization file is not valid (e.g. an unknown field).
 * - `KUSTOMIZE_PATCH_NO_MATCH` — a patch names an object that is not there.
 * - `KUSTOMIZE_PATH_OUTSIDE_ARTIFACT` — a path leaves the artifact (`../../etc`).
 * - `KUSTOMIZE_LOAD_RESTRICTED` — with `loadRestrictor: 'rootOnly'`, a file outside its kustomization's folder.
 * - `KUSTOMIZE_REMOTE_FAILED` — a remote base or file could not be fetched (`data.url`, never credentials).
 * - `KUSTOMIZE_HELM_FAILED` — a `helmCharts:` entry could not be rendered.
 * - `KUSTOMIZE_BUILD_FAILED` — any other error kustomize reports.
 * - `ENGINE_MEMORY_LIMIT`, `ENGINE_OUTPUT_LIMIT`, `ENGINE_TIMEOUT` — the build exceeded
 *   `maxMemoryBytes`, `maxOutputBytes` or `timeoutMs` (the same codes as helm-render's);
 *   `data.limit` names the option, `data.limitValue` its value. The engine is replaced.
 * - `KUSTOMIZE_ENGINE_FAILED` — the engine itself failed (missing wasm, crash).
 * - `KUSTOMIZE_INVALID_OPTIONS` — the options given to `kustomize()` are inconsistent.
 */
export type KustomizeErrorCode =
  | 'KUSTOMIZE_NOT_FOUND'
  | 'KUSTOMIZE_RESOURCE_NOT_FOUND'
  | 'KUSTOMIZE_CYCLE'
  | 'KUSTOMIZE_INVALID'
  | 'KUSTOMIZE_PATCH_NO_MATCH'
  | 'KUSTOMIZE_PATH_OUTSIDE_ARTIFACT'
  | 'KUSTOMIZE_LOAD_RESTRICTED'
  | 'KUSTOMIZE_REMOTE_FAILED'
  | 'KUSTOMIZE_HELM_FAILED'
  | 'KUSTOMIZE_BUILD_FAILED'
  | 'ENGINE_MEMORY_LIMIT'
  | 'ENGINE_OUTPUT_LIMIT'
  | 'ENGINE_TIMEOUT'
  | 'KUSTOMIZE_ENGINE_FAILED'
  | 'KUSTOMIZE_INVALID_OPTIONS';

/**
 * Every error `@converge/kustomize` reports. `code` tells the kind apart (see
 * {@link KustomizeErrorCode}); `data.position.file` names the kustomization file and
 * `data.field` the field kustomize complained about, when known.
 *
 * @example
 * ```ts
 * try { await render({ artifact }); } catch (e) {
 *   if (e instanceof KustomizeError && e.code === 'KUSTOMIZE_RESOURCE_NOT_FOUND') console.error(e.file);
 * }
 * ```
 */
export class KustomizeError extends ConvergeError {
  declare readonly code: KustomizeErrorCode;

  constructor(code: KustomizeErrorCode, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }

  /** The kustomization file the error concerns, relative to the artifact, if known. */
  get file(): string | undefined {
    return this.data.position?.file;
  }

  /** The kustomization field kustomize named (`resources`, `patches`, an unknown field's name), if any. */
  get field(): string | undefined {
    return typeof this.data['field'] === 'string' ? this.data['field'] : undefined;
  }
}

/** Shorthand for a {@link KustomizeError}. */
export function kustomizeError(
  code: KustomizeErrorCode,
  message: string,
  data: ConvergeErrorOptions['data'] = {},
  cause?: unknown,
): KustomizeError {
  return new KustomizeError(code, message, { data, ...(cause === undefined ? {} : { cause }) });
}
