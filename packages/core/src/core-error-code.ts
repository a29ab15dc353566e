import { ConvergeError } from './errors.js';

/**
 * Every `code` that `@converge/core` itself reports (its error classes, the runtime, the
 * directory source and, from `@converge/core/testing`, `MemorySink` and `memorySource`), at
 * run time. {@link CoreErrorCode} is its type. Other packages have their own closed unions
 * (`OciErrorCode`, `GitSourceErrorCode`, …); a few core codes are shared on purpose: a sink
 * reports `IMMUTABLE_FIELD` or `OWNERSHIP_CONFLICT` with its own class, and the runtime goes by
 * the code.
 */
export const CORE_ERROR_CODES = [
  // reading and rendering
  'YAML_SYNTAX',
  'INVALID_OBJECT',
  'DUPLICATE_OBJECT',
  'PATH_ESCAPE',
  'FILE_NOT_FOUND',
  'FILE_READ_FAILED',
  'SUBSTITUTION',
  'SOURCE_NOT_FOUND',
  'REVISION_NOT_FOUND',
  // a plugin threw something that is not a ConvergeError, by stage (RENDER_FAILED also: a renderer's own failure)
  'SOURCE_FAILED',
  'RENDER_FAILED',
  'TRANSFORM_FAILED',
  'GATE_FAILED',
  // what a pass refuses to do
  'GATE_BLOCKED',
  'EMPTY_DESIRED_STATE',
  'TOO_MANY_OBJECTS',
  'PRUNE_BUDGET_EXCEEDED',
  'NAMESPACE_NOT_EMPTY',
  'OWNERSHIP_CONFLICT',
  'NOT_LEADER',
  // applying and waiting
  'IMMUTABLE_FIELD',
  'INVENTORY_DAMAGED',
  'HEALTH_TIMEOUT',
  'HEALTH_FAILED',
  'HOOK_FAILED',
  'MULTIPLE_FAILURES',
  // the runtime
  'PASS_TIMEOUT',
  'ABORTED',
  'INVALID_OPTIONS',
  'INTERNAL',
  // MemorySink (`@converge/core/testing`)
  'SIMULATED_FAULT',
  'CONFLICT',
] as const;

/**
 * The codes `@converge/core` reports, a closed union: a `switch` over it is checked for
 * completeness. `ConvergeError.code` itself is a `string`, since every package adds its own
 * codes; narrow a `ConvergeError` with {@link isCoreError} first.
 *
 * @example
 * ```ts
 * function advice(error: ConvergeError): string {
 *   if (!isCoreError(error)) return `see the docs of the package that reports ${error.code}`;
 *   switch (error.code) {
 *     case 'YAML_SYNTAX': return `fix ${error.data.position?.file}`;
 *     // … one case per code: adding a code to the union makes this switch fail to compile
 *   }
 * }
 * ```
 */
export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

/** A {@link ConvergeError} whose code is one of {@link CoreErrorCode}. */
export type CoreError = ConvergeError & { readonly code: CoreErrorCode };

const CODES: ReadonlySet<string> = new Set(CORE_ERROR_CODES);

/**
 * Whether `error` is a `ConvergeError` with one of core's codes, whichever package threw it
 * (a sink's `IMMUTABLE_FIELD` counts): narrows `code` to {@link CoreErrorCode}.
 */
export function isCoreError(error: unknown): error is CoreError {
  return error instanceof ConvergeError && CODES.has(error.code);
}
