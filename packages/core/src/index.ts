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
  InvalidOptionsError,
  TooManyObjectsError,
  PruneBudgetError,
  NamespaceNotEmptyError,
  PassTimeoutError,
  PluginError,
  InventoryDamagedError,
  HookFailedError,
  ImmutableFieldError,
  inStage,
  toConvergeError,
} from './errors.js';
export type { PluginStage, PluginErrorCode } from './errors.js';
export type { CoreErrorCode, CoreError } from './core-error-code.js';
export { CORE_ERROR_CODES, isCoreError } from './core-error-code.js';
export { refProblem, isValidRef, nameProblem, namespaceProblem, kindProblem, groupProblem, versionProblem, gvkProblem } from './identity.js';
export { INVENTORY_FORMAT, encodeInventory, decodeInventory } from './inventory-codec.js';
export { MIN_REDACTED_LENGTH, sensitiveValues, redactText, redactError } from './redact.js';
export type { FileTree, Artifact } from './file-tree.js';
export type { Source, SourceCallOptions } from './source.js';
export type { Renderer, RenderContext, Transform } from './renderer.js';
export { pipe, combine, named, pluginName } from './renderer.js';
export type { Change, ChangeAction, ChangeCounts, CreateChange, UpdateChange, UnchangedChange, DeleteChange, UpsertChange, JsonPatchOperation } from './change.js';
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
export { OWNER_ANNOTATION, PRUNE_ANNOTATION, NAMESPACE_DELETE_ANNOTATION, FORCE_ANNOTATION, isPruneDisabled, ownerOf } from './annotations.js';
export type { HookPhase, HookDeletePolicy, HookSpec, UnsupportedHook } from './phases.js';
export { WAVE_ANNOTATION, HOOK_ANNOTATION, HOOK_DELETE_POLICY_ANNOTATION, waveOf, hookOf, hookName } from './phases.js';
export { normalize } from './normalize.js';
export type { IgnoreRule } from './ignore-rules.js';
export { MASK, isSecret, maskSecret } from './mask.js';
export { markSensitive, sensitivePathsOf, touchesSensitive } from './sensitive.js';
export type { DiffOptions, DiffResult } from './diff.js';
export { diff } from './diff.js';
export { APPLY_ORDER, applyRank, sortForApply } from './order.js';
export type { PlanInput, Plan, OwnershipConflict } from './plan.js';
export { plan } from './plan.js';
export { setOrigin, originOf, inheritOrigin, formatPosition, setDefaultNamespace, defaultNamespaceOf } from './origin.js';
export type { Clock, TimerHandle } from './clock.js';
export { systemClock, sleep } from './clock.js';
export { raceAbort } from './race-abort.js';
export { Emitter } from './emitter.js';
export { Semaphore } from './semaphore.js';
export type { SemaphoreStats } from './semaphore.js';
export type { EventOf, EventWithout } from './emitter.js';
export type { RetryPolicy, ExponentialBackoffOptions } from './retry-policy.js';
export { exponentialBackoff } from './retry-policy.js';
export type { Gate, GateResult } from './gate.js';
export type { ReconcileEvent, ReconcileEventBase, ReconcileEventType, ReconcileEventOf, PassReason } from './events.js';
export type { ReconcileResult, ReconcilerStatus, ReconcilerPhase, PassRecord } from './reconciler-status.js';
export type { Reconciler, ReconcilerOptions, ReconcileOptions, WaitOptions } from './reconciler.js';
export { createReconciler } from './reconciler.js';
export type { HealthStatus, Health } from './health/health-status.js';
export { HEALTH_STATUSES, compareHealth, isWorseHealth, worstHealth } from './health/health-status.js';
export { computeHealth, notFoundHealth } from './health/compute-health.js';
export type { HealthCheck, HealthOptions } from './health/compute-health.js';
export { liveHealth } from './health/live-health.js';
export type { LiveHealthOptions } from './health/live-health.js';
export { waitForHealth } from './health/wait-for-health.js';
export type { WaitForHealthOptions } from './health/wait-for-health.js';
export { memoryFileTree } from './memory-file-tree.js';
export { directoryFileTree } from './directory-file-tree.js';
export type { DirectorySourceOptions } from './directory-source.js';
export { directorySource } from './directory-source.js';
export { parseManifests } from './parse-manifests.js';
export type { YamlFilesOptions } from './yaml-files.js';
export { yamlFiles } from './yaml-files.js';
export { CLUSTER_SCOPED_KINDS, isClusterScoped } from './transforms/cluster-scoped-kinds.js';
export { addLabels, addAnnotations } from './transforms/metadata.js';
export type { SetNamespaceOptions } from './transforms/set-namespace.js';
export { setNamespace } from './transforms/set-namespace.js';
export type { SubstituteOptions } from './transforms/substitute.js';
export { SUBSTITUTE_DISABLED_ANNOTATIONS, substitute } from './transforms/substitute.js';
export type { FormatPlanOptions } from './format-plan.js';
export { formatPlan, summarizePlan } from './format-plan.js';
export type { FleetShard, ShardedFleet } from './fleet-shard.js';
export type { ShardMember, ShardedApp } from './rendezvous.js';
export { rendezvousOwner, assignApps } from './rendezvous.js';
export type { PassLoopOptions, DroppedPassReason } from './pass-loop.js';
export { PassLoop } from './pass-loop.js';
export { cancelledPassError } from './cancelled-pass-error.js';
export { guardSink } from './guarded-sink.js';
export type { WriteGuard, NotLeaderData } from './write-guard.js';
export { NotLeaderError, assertMayWrite } from './write-guard.js';
