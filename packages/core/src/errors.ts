import type { CoreErrorCode } from './core-error-code.js';
import type { ObjectRef } from './object.js';

/** Where in a file a problem was found. Lines and columns are 1-based. */
export interface FilePosition {
  file: string;
  line?: number;
  column?: number;
}

/** Structured context attached to every {@link ConvergeError}. */
export interface ConvergeErrorData {
  /** The object the error is about, if any. */
  ref?: ObjectRef;
  /** The file (and line) the error is about, if any. */
  position?: FilePosition;
  /**
   * Whether trying again later may succeed (network, conflicts, unavailable servers): the
   * default retry policy retries only these before the next interval. Unset means no.
   */
  retryable?: boolean;
  [k: string]: unknown;
}

/** Options accepted by every {@link ConvergeError} constructor. */
export interface ConvergeErrorOptions {
  cause?: unknown;
  data?: ConvergeErrorData;
}

/**
 * The base of every error Converge reports. `code` tells the failure kind apart without
 * parsing messages; `data` carries the object, file and line; `cause` the underlying error.
 *
 * `code` is a `string` here because every package extends this class with its own closed union
 * of codes (each subclass narrows it: `declare readonly code: OciErrorCode`). To switch over
 * codes with a completeness check, narrow first: `isCoreError(e)` for core's
 * {@link CoreErrorCode}, `instanceof` a package's class (`OciError`, `KubeSinkError`, …) for
 * its own.
 *
 * @example
 * ```ts
 * if (result.error?.code === 'YAML_SYNTAX') console.error(result.error.data.position);
 * ```
 */
export class ConvergeError extends Error {
  /** A stable identifier of the failure kind, e.g. `YAML_SYNTAX` or `APPLY_CONFLICT`; subclasses narrow it to their codes. */
  readonly code: string;
  /** Structured context: object ref, file position, retryability and kind-specific fields. */
  readonly data: ConvergeErrorData;

  constructor(code: string, message: string, options: ConvergeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = options.data ?? {};
  }

  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    return this.data.retryable === true;
  }
}

/** A manifest file could not be parsed. `data.position` has the file and line. */
export class ManifestSyntaxError extends ConvergeError {
  declare readonly code: 'YAML_SYNTAX';
  constructor(message: string, position: FilePosition, options: ConvergeErrorOptions = {}) {
    super('YAML_SYNTAX', message, { ...options, data: { ...options.data, position } });
  }
}

/** A document is not a valid Kubernetes object (no `kind`, `apiVersion` or `metadata.name`). */
export class InvalidObjectError extends ConvergeError {
  declare readonly code: 'INVALID_OBJECT';
  constructor(message: string, position?: FilePosition, options: ConvergeErrorOptions = {}) {
    super('INVALID_OBJECT', message, { ...options, data: { ...options.data, ...(position && { position }) } });
  }
}

/** Two documents declare the same object. */
export class DuplicateObjectError extends ConvergeError {
  declare readonly code: 'DUPLICATE_OBJECT';
  constructor(message: string, data: ConvergeErrorData) {
    super('DUPLICATE_OBJECT', message, { data });
  }
}

/** A path points outside the tree it was read from (`..` or a symlink). */
export class PathEscapeError extends ConvergeError {
  declare readonly code: 'PATH_ESCAPE';
  constructor(path: string, root: string) {
    super('PATH_ESCAPE', `${path} resolves outside ${root}; refusing to read it`, { data: { path, root, position: { file: path } } });
  }
}

/** A file or directory asked for does not exist. */
export class FileNotFoundError extends ConvergeError {
  declare readonly code: 'FILE_NOT_FOUND';
  constructor(path: string, options: ConvergeErrorOptions = {}) {
    super('FILE_NOT_FOUND', `${path}: no such file`, { ...options, data: { ...options.data, position: { file: path } } });
  }
}

/** A `${VAR}` has no value while substitution is strict. */
export class SubstitutionError extends ConvergeError {
  declare readonly code: 'SUBSTITUTION';
  constructor(message: string, data: ConvergeErrorData) {
    super('SUBSTITUTION', message, { data });
  }
}

/** A renderer failed for a reason of its own. */
export class RenderError extends ConvergeError {
  declare readonly code: 'RENDER_FAILED';
  constructor(message: string, options: ConvergeErrorOptions = {}) {
    super('RENDER_FAILED', message, options);
  }
}

/** A source could not be read (network, auth, missing ref). */
export class SourceError extends ConvergeError {
  constructor(code: string, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The stage of a pass a plugin failed in. */
export type PluginStage = 'source' | 'render' | 'transform' | 'gate';

/** The code of a {@link PluginError}, one per stage. */
export type PluginErrorCode = 'SOURCE_FAILED' | 'RENDER_FAILED' | 'TRANSFORM_FAILED' | 'GATE_FAILED';

const STAGE_CODES: Record<PluginStage, PluginErrorCode> = {
  source: 'SOURCE_FAILED',
  render: 'RENDER_FAILED',
  transform: 'TRANSFORM_FAILED',
  gate: 'GATE_FAILED',
};

/**
 * A Source, Renderer, Transform or Gate threw something that is not a `ConvergeError`: the
 * code says which stage, `data.plugin` which plugin (the source's `id`, the function's name),
 * and `cause` holds what was thrown. `ConvergeError`s that plugins throw keep their own code and
 * get `data.stage` and `data.plugin` added.
 */
export class PluginError extends ConvergeError {
  declare readonly code: PluginErrorCode;
  constructor(stage: PluginStage, plugin: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(STAGE_CODES[stage], `${stage} ${plugin} failed: ${message}`, { cause, data: { stage, plugin } });
  }
}

/**
 * Runs one plugin call and labels what it throws with the stage and plugin (see
 * {@link PluginError}). Abort and timeout errors become `ABORTED`, unlabelled.
 */
export async function inStage<T>(stage: PluginStage, plugin: string, call: () => Promise<T> | T): Promise<T> {
  try {
    return await call();
  } catch (thrown) {
    if (thrown instanceof ConvergeError) {
      thrown.data['stage'] ??= stage;
      thrown.data['plugin'] ??= plugin;
      throw thrown;
    }
    if (thrown instanceof Error && (thrown.name === 'AbortError' || thrown.name === 'TimeoutError')) throw toConvergeError(thrown);
    throw new PluginError(stage, plugin, thrown);
  }
}

/**
 * An inventory record could not be read as a whole (not its format, a part missing, a digest
 * mismatch). Sinks throw it from `readInventory`; the runtime rebuilds the inventory from the
 * objects annotated with the reconciler's name (`Sink.findOwned`) and reports it
 * (`inventory.repaired`), or fails the pass with it when the sink cannot search.
 */
export class InventoryDamagedError extends ConvergeError {
  declare readonly code: 'INVENTORY_DAMAGED';
  constructor(message: string, data: ConvergeErrorData = {}) {
    super('INVENTORY_DAMAGED', message, { data });
  }
}

/** A hook failed, did not finish in time, or could not be created; nothing was pruned. */
export class HookFailedError extends ConvergeError {
  declare readonly code: 'HOOK_FAILED';
  constructor(phase: 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail', ref: ObjectRef, detail: string, cause?: unknown) {
    super('HOOK_FAILED', `${phase} hook ${formatHookRef(ref)} ${detail}`, { ...(cause !== undefined && { cause }), data: { ref, phase } });
  }
}

function formatHookRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/**
 * An apply was refused because it changes a field the API server does not allow to change;
 * `data.fields` names them. Sinks may use this class or their own with the code
 * `IMMUTABLE_FIELD`: the runtime goes by the code (and re-creates objects that opted in).
 */
export class ImmutableFieldError extends ConvergeError {
  declare readonly code: 'IMMUTABLE_FIELD';
  declare readonly data: ConvergeErrorData & { fields: string[] };
  constructor(message: string, data: ConvergeErrorData & { fields: string[] }, cause?: unknown) {
    super('IMMUTABLE_FIELD', message, { data, ...(cause !== undefined && { cause }) });
  }
}

/** The desired set is empty and the reconciler was not told `allowEmpty`. */
export class EmptyDesiredStateError extends ConvergeError {
  declare readonly code: 'EMPTY_DESIRED_STATE';
  constructor(reconciler: string) {
    super('EMPTY_DESIRED_STATE', `${reconciler}: the rendered desired state is empty; refusing to prune everything. Set allowEmpty to allow it.`);
  }
}

/** An object already belongs to another reconciler. */
export class OwnershipConflictError extends ConvergeError {
  declare readonly code: 'OWNERSHIP_CONFLICT';
  constructor(message: string, data: ConvergeErrorData) {
    super('OWNERSHIP_CONFLICT', message, { data });
  }
}

/** A gate refused the desired state for now (e.g. an image is not pushed yet). */
export class GateError extends ConvergeError {
  declare readonly code: 'GATE_BLOCKED';
  constructor(gate: string, message: string, data: ConvergeErrorData = {}) {
    super('GATE_BLOCKED', `gate ${gate}: ${message}`, { data: { retryable: true, ...data, gate } });
  }
}

/** Objects did not become healthy in time, or one failed. */
export class HealthError extends ConvergeError {
  declare readonly code: 'HEALTH_TIMEOUT' | 'HEALTH_FAILED';
  constructor(code: 'HEALTH_TIMEOUT' | 'HEALTH_FAILED', message: string, data: ConvergeErrorData = {}) {
    super(code, message, { data });
  }
}

/** A sink call failed for one object; `data.ref` names it. Sinks use specific codes (e.g. `APPLY_CONFLICT`). */
export class SinkError extends ConvergeError {
  constructor(code: string, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Several objects failed in one pass; `errors` holds each one. */
export class AggregateConvergeError extends ConvergeError {
  declare readonly code: 'MULTIPLE_FAILURES';
  readonly errors: readonly ConvergeError[];
  constructor(message: string, errors: readonly ConvergeError[]) {
    super('MULTIPLE_FAILURES', `${message}:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`, {
      data: { retryable: errors.every((e) => e.retryable) },
    });
    this.errors = errors;
  }
}

/** A render produced more objects than the reconciler's `maxObjects`; nothing was written. */
export class TooManyObjectsError extends ConvergeError {
  declare readonly code: 'TOO_MANY_OBJECTS';
  constructor(reconciler: string, count: number, limit: number) {
    super(
      'TOO_MANY_OBJECTS',
      `${reconciler}: the render produced ${count} objects, more than the limit of ${limit}; nothing was applied. ` +
        'Check the source path, or raise maxObjects if this is intended.',
      { data: { count, limit } },
    );
  }
}

/** A pass would delete more of the inventory than its prune budget allows; nothing was written. */
export class PruneBudgetError extends ConvergeError {
  declare readonly code: 'PRUNE_BUDGET_EXCEEDED';
  constructor(message: string, data: { wouldDelete: number; inventory: number; allowed: number; revision: string }) {
    super('PRUNE_BUDGET_EXCEEDED', message, { data });
  }
}

/** A Namespace that would be pruned still holds objects this reconciler may not delete; nothing was written. */
export class NamespaceNotEmptyError extends ConvergeError {
  declare readonly code: 'NAMESPACE_NOT_EMPTY';
  constructor(message: string, data: ConvergeErrorData & { namespaces: { name: string; blockers: ObjectRef[] }[] }) {
    super('NAMESPACE_NOT_EMPTY', message, { data });
  }
}

/** A pass ran past its deadline and was cut; the loop goes on. Retryable. */
export class PassTimeoutError extends ConvergeError {
  declare readonly code: 'PASS_TIMEOUT';
  constructor(reconciler: string, timeoutMs: number) {
    super('PASS_TIMEOUT', `${reconciler}: the pass did not finish within ${timeoutMs} ms and was cancelled; it will be retried`, {
      data: { retryable: true, timeoutMs },
    });
  }
}

/** An option given to a Converge function is invalid; `data.option` names it. Thrown at once, before anything runs. */
export class InvalidOptionsError extends ConvergeError {
  declare readonly code: 'INVALID_OPTIONS';
  constructor(message: string, data: ConvergeErrorData & { option: string }) {
    super('INVALID_OPTIONS', message, { data });
  }
}

/** The operation was cancelled through an `AbortSignal`. */
export class AbortedError extends ConvergeError {
  declare readonly code: 'ABORTED';
  constructor(message = 'the operation was aborted', options: ConvergeErrorOptions = {}) {
    super('ABORTED', message, options);
  }
}

/**
 * Converts anything thrown into a {@link ConvergeError}: Converge errors pass through, other
 * errors are wrapped with code `INTERNAL` (or `ABORTED` for abort errors) and kept as `cause`.
 */
export function toConvergeError(thrown: unknown): ConvergeError {
  if (thrown instanceof ConvergeError) return thrown;
  if (thrown instanceof Error && (thrown.name === 'AbortError' || thrown.name === 'TimeoutError')) return new AbortedError(thrown.message, { cause: thrown });
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new ConvergeError('INTERNAL', message, { cause: thrown });
}
