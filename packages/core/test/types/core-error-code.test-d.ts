import { describe, expectTypeOf, it } from 'vitest';
import {
  isCoreError,
  type AbortedError,
  type AggregateConvergeError,
  type ConvergeError,
  type CoreErrorCode,
  type DuplicateObjectError,
  type EmptyDesiredStateError,
  type FileNotFoundError,
  type GateError,
  type HealthError,
  type HookFailedError,
  type ImmutableFieldError,
  type InvalidObjectError,
  type InvalidOptionsError,
  type InventoryDamagedError,
  type ManifestSyntaxError,
  type NamespaceNotEmptyError,
  type OwnershipConflictError,
  type PassTimeoutError,
  type PathEscapeError,
  type PluginError,
  type PruneBudgetError,
  type RenderError,
  type SubstitutionError,
  type TooManyObjectsError,
} from '../../src/index.js';
import type { NotLeaderError } from '../../src/write-guard.js';

/** What a user does with a core error: one answer per code. */
type Advice = 'fix the input' | 'approve or change the revision' | 'wait' | 'report a bug';

/** A code added to `CoreErrorCode` without a case here fails to compile (`unhandled` is not `never`). */
function advice(code: CoreErrorCode): Advice {
  switch (code) {
    case 'YAML_SYNTAX':
    case 'INVALID_OBJECT':
    case 'DUPLICATE_OBJECT':
    case 'PATH_ESCAPE':
    case 'FILE_NOT_FOUND':
    case 'SUBSTITUTION':
    case 'SOURCE_NOT_FOUND':
    case 'RENDER_FAILED':
    case 'TRANSFORM_FAILED':
    case 'INVALID_OPTIONS':
    case 'HOOK_FAILED':
    case 'HEALTH_FAILED':
    case 'IMMUTABLE_FIELD':
    case 'MULTIPLE_FAILURES':
      return 'fix the input';
    case 'GATE_BLOCKED':
    case 'EMPTY_DESIRED_STATE':
    case 'TOO_MANY_OBJECTS':
    case 'PRUNE_BUDGET_EXCEEDED':
    case 'NAMESPACE_NOT_EMPTY':
    case 'OWNERSHIP_CONFLICT':
      return 'approve or change the revision';
    case 'FILE_READ_FAILED':
    case 'REVISION_NOT_FOUND':
    case 'SOURCE_FAILED':
    case 'GATE_FAILED':
    case 'NOT_LEADER':
    case 'INVENTORY_DAMAGED':
    case 'HEALTH_TIMEOUT':
    case 'PASS_TIMEOUT':
    case 'ABORTED':
    case 'SIMULATED_FAULT':
    case 'CONFLICT':
      return 'wait';
    case 'INTERNAL':
      return 'report a bug';
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

describe('CoreErrorCode', () => {
  it('is a closed union: a switch over it is checked for completeness', () => {
    expectTypeOf(advice).parameter(0).toEqualTypeOf<CoreErrorCode>();
    function missingOne(code: CoreErrorCode): string {
      switch (code) {
        case 'INTERNAL':
          return 'bug';
        default: {
          // @ts-expect-error every other code is unhandled, so `code` is not `never` here
          const unhandled: never = code;
          return unhandled;
        }
      }
    }
    expectTypeOf(missingOne).returns.toEqualTypeOf<string>();
  });

  it('isCoreError narrows a ConvergeError to core codes', () => {
    const error = null as unknown as ConvergeError;
    expectTypeOf(error.code).toEqualTypeOf<string>();
    if (isCoreError(error)) expectTypeOf(error.code).toEqualTypeOf<CoreErrorCode>();
  });

  it("every core error class's code is one of CoreErrorCode", () => {
    type CoreClasses =
      | ManifestSyntaxError
      | InvalidObjectError
      | DuplicateObjectError
      | PathEscapeError
      | FileNotFoundError
      | SubstitutionError
      | RenderError
      | PluginError
      | InventoryDamagedError
      | HookFailedError
      | ImmutableFieldError
      | EmptyDesiredStateError
      | OwnershipConflictError
      | GateError
      | HealthError
      | AggregateConvergeError
      | TooManyObjectsError
      | PruneBudgetError
      | NamespaceNotEmptyError
      | PassTimeoutError
      | InvalidOptionsError
      | AbortedError
      | NotLeaderError;
    expectTypeOf<CoreClasses['code']>().toMatchTypeOf<CoreErrorCode>();
    expectTypeOf<ManifestSyntaxError['code']>().toEqualTypeOf<'YAML_SYNTAX'>();
  });
});
