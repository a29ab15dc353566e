export type { KubeObject, ObjectRef, GroupVersionKind } from './object.js';
export { refOf, refKey, parseRefKey, formatRef, parseApiVersion, gvkOf } from './object.js';
export type { FilePosition, ConvergeErrorData, ConvergeErrorOptions } from './errors.js';
export {
  ConvergeError,
  ManifestSyntaxError,
  InvalidObjectError,
  DuplicateObjectError,
  PathEscapeError,
  FileNotFoundError,
  SubstitutionError,
  RenderError,
  SourceError,
  EmptyDesiredStateError,
  OwnershipConflictError,
  GateError,
  HealthError,
  SinkError,
  AggregateConvergeError,
  AbortedError,
  toConvergeError,
} from './errors.js';
export type { FileTree, Artifact } from './file-tree.js';
export type { Source, SourceCallOptions } from './source.js';
export type { Renderer, RenderContext, Transform } from './renderer.js';
export { pipe, combine } from './renderer.js';
export type { Change, ChangeAction, ChangeCounts, JsonPatchOperation } from './change.js';
export { countChanges } from './change.js';
export type {
  Sink,
  SinkReader,
  SinkWriter,
  SinkCallOptions,
  ApplyOptions,
  DeleteOptions,
  ApplyResult,
  DeleteResult,
  DriftEvent,
} from './sink.js';
