import { FORCE_ANNOTATION, NAMESPACE_DELETE_ANNOTATION, OWNER_ANNOTATION } from '../annotations.js';
import type { ChangeCounts, DeleteChange, UpsertChange } from '../change.js';
import type { Clock } from '../clock.js';
import {
  AggregateConvergeError,
  EmptyDesiredStateError,
  GateError,
  ImmutableFieldError,
  inStage,
  InventoryDamagedError,
  NamespaceNotEmptyError,
  OwnershipConflictError,
  PruneBudgetError,
  toConvergeError,
  type ConvergeError,
} from '../errors.js';
import type { PassEmit } from './pass-emit.js';
import type { Gate } from '../gate.js';
import type { IgnoreRule } from '../ignore-rules.js';
import { isValidRef, refProblem } from '../identity.js';
import { formatRef, parseApiVersion, refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';
import { formatPosition, inheritOrigin, originOf } from '../origin.js';
import type { HealthOptions } from '../health/compute-health.js';
import { groupByNumber, hookOf, waveOf } from '../phases.js';
import { plan, type Plan } from '../plan.js';
import { redactError, sensitiveValues } from '../redact.js';
import { pluginName, type Renderer } from '../renderer.js';
import type { ApplyResult, Sink } from '../sink.js';
import type { Source } from '../source.js';
import { admit, Scopes, settleInventory } from './admit.js';
import { confirmDrift, type FalseDrift } from './confirm-drift.js';
import { runHooks, type Hook, type HookRun } from './run-hooks.js';
import { waitUntilGone } from './wait-until-gone.js';
import { namespaceBlockers } from './namespace-blockers.js';
import { sameRefs, unionRefs } from './ref-set.js';
import { waitForHealth } from '../health/wait-for-health.js';

/** Everything a pass needs, resolved from the reconciler's options. */
export interface PassConfig {
  name: string;
  source: Source;
  render: Renderer;
  sink: Sink;
  gates: readonly Gate[];
  ignore: readonly IgnoreRule[];
  prune: boolean;
  allowEmpty: boolean;
  adopt: boolean;
  dryRun: boolean;
  forceConflicts: boolean;
  reuseRender: boolean;
  wait: false | { timeoutMs: number; pollIntervalMs: number };
  clock: Clock;
  /** The namespace for namespaced objects that name none and whose renderer recorded no default. */
  defaultNamespace: string | undefined;
  /** Most objects a render may produce. */
  maxObjects: number;
  /** Most deletes one pass may make without approval. */
  pruneBudget: false | { maxFraction: number; minCount: number };
  /** How long a wave may take to become healthy before the next one, when waves are in use. */
  waveTimeoutMs: number;
  /** How long a hook may run. */
  hookTimeoutMs: number;
  /** Objects (besides those annotated `converge.dev/force: enabled`) to delete and re-create when an immutable field changes. */
  recreate: (ref: ObjectRef) => boolean;
  /** Custom health checks and options for waves, hooks and `wait`. */
  health: HealthOptions;
}

/** What a pass remembers for the next one. */
export interface PassMemory {
  lastAppliedRevision?: string;
  rendered?: { revision: string; objects: KubeObject[]; hooks: Hook[]; sensitive: Set<string> };
  /** The revision whose hooks have run: hooks run once per revision. */
  hooksRanFor?: string;
  /** Drift the server showed to be no change, remembered so a steady state makes no writes. */
  falseDrift?: FalseDrift;
  /** A revision whose prune may exceed the budget, approved by the user. */
  pruneApproved?: string;
}

/** What a successful pass produced. */
export interface PassOutcome {
  revision: string;
  counts: ChangeCounts;
  driftCorrected: number;
  managed: ObjectRef[];
}


/** What the first half of a pass found: the revision, the desired objects and the plan. */
export interface PreparedPass {
  revision: string;
  revisionChanged: boolean;
  desired: KubeObject[];
  inventory: ObjectRef[];
  /** Whether the recorded inventory held entries that were dropped and must be rewritten. */
  inventoryRepaired: boolean;
  plan: Plan;
  /** The hooks of this revision (not part of the plan or the inventory). */
  hooks: Hook[];
}

/**
 * The read-only half of a pass: check the revision, render (or reuse the render of an
 * unchanged revision), run gates, read the inventory and live state, and plan. Writes nothing.
 */
export async function preparePass(c: PassConfig, memory: PassMemory, emit: PassEmit, onRevision: (revision: string) => void, signal: AbortSignal): Promise<PreparedPass> {
  signal.throwIfAborted();
  const revision = await inStage('source', c.source.id, () => c.source.latestRevision({ signal }));
  signal.throwIfAborted();
  onRevision(revision);
  const revisionChanged = revision !== memory.lastAppliedRevision;
  emit({ type: 'revision.checked', revision, changed: revisionChanged });

  const reused = c.reuseRender && memory.rendered?.revision === revision;
  // The inventory is read while the revision renders: rendering is work on this process's CPU,
  // the read (and, on a sink's first pass, its connection to the cluster) is waiting on the network.
  const reading = new AbortController();
  const stopReading = (): void => reading.abort(signal.reason);
  signal.addEventListener('abort', stopReading, { once: true });
  const inventoryRead = readRecorded(c, reading.signal);
  inventoryRead.catch(() => undefined); // awaited below; a failure before then is not unhandled
  let recorded: ObjectRef[];
  let unreadable: string | undefined;
  let desired: KubeObject[];
  let hooks: Hook[];
  try {
    if (!reused) {
      const rendered = await render(c, revision, signal);
      memory.rendered = { revision, objects: rendered.objects, hooks: rendered.hooks, sensitive: sensitiveValues([...rendered.objects, ...rendered.hooks.map((h) => h.object)]) };
      for (const { ref, reason } of rendered.skipped) emit({ type: 'hook.skipped', ref, reason });
    }
    ({ objects: desired, hooks } = memory.rendered!);
    signal.throwIfAborted();
    emit({ type: 'rendered', revision, objects: desired.length, reused });
    if (desired.length === 0 && !c.allowEmpty) throw new EmptyDesiredStateError(c.name);

    for (const gate of c.gates) {
      const verdict = await inStage('gate', gate.name, () => gate.check(desired, { revision, signal }));
      if (!verdict.ok) {
        emit({ type: 'gate.blocked', gate: gate.name, message: verdict.message });
        throw new GateError(gate.name, verdict.message, verdict.data);
      }
      emit({ type: 'gate.passed', gate: gate.name });
    }
    ({ recorded, unreadable } = await inventoryRead);
  } catch (error) {
    // The pass ends here: the read is cancelled, and its failure observed, before it does.
    reading.abort();
    await inventoryRead.catch(() => undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', stopReading);
  }
  const valid = recorded.filter((ref) => isValidRef(ref) && !c.sink.isReserved?.(ref));
  const inventory = unionRefs(await settleInventory(valid, new Scopes(desired, { sink: c.sink, signal }), c.sink));
  const damaged = recorded.filter((ref) => !valid.includes(ref));
  if (damaged.length > 0 || unreadable !== undefined) {
    // Entries no valid object could have written: never pruned, dropped on the next write.
    emit({
      type: 'inventory.repaired',
      dropped: damaged.map((ref) => `${JSON.stringify(refKey(ref))}: ${refProblem(ref) ?? 'a record of the sink itself'}`),
      ...(unreadable !== undefined && { unreadable }),
    });
  }
  const live = await c.sink.get(unionRefs(desired.map(refOf), inventory), { signal });
  const p = plan({ desired, live, inventory, prune: c.prune, owner: c.name, adopt: c.adopt, ignore: c.ignore });
  if (p.conflicts.length > 0) {
    const list = p.conflicts.map((x) => `${formatRef(x.ref)} (owned by ${x.owner})`).join(', ');
    throw new OwnershipConflictError(`${c.name}: objects owned by another reconciler: ${list}; set adopt to take them over`, {
      ref: p.conflicts[0]!.ref,
      conflicts: p.conflicts,
    });
  }
  emit({ type: 'planned', revision, counts: p.counts, dryRun: c.dryRun });
  const repaired = unreadable !== undefined || !sameRefs(recorded, inventory) || recorded.length !== inventory.length;
  return { revision, revisionChanged, desired, inventory, inventoryRepaired: repaired, plan: p, hooks };
}

/** The reconciler's recorded inventory; a damaged record is rebuilt from what carries its name (`unreadable` says why). */
async function readRecorded(c: PassConfig, signal: AbortSignal): Promise<{ recorded: ObjectRef[]; unreadable?: string }> {
  try {
    return { recorded: (await c.sink.readInventory(c.name, { signal })) ?? [] };
  } catch (error) {
    // Nothing in the record can be trusted: rebuild it from what carries this reconciler's name.
    if (!(error instanceof InventoryDamagedError) || !c.sink.findOwned) throw error;
    return { recorded: await c.sink.findOwned(c.name, { signal }), unreadable: error.message };
  }
}

/**
 * One pass: {@link preparePass}, then record the inventory, apply, prune, record again and
 * wait. Throws on failure; nothing is pruned unless every apply succeeded.
 */
export async function runPass(
  c: PassConfig,
  memory: PassMemory,
  emit: PassEmit,
  onRevision: (revision: string) => void,
  signal: AbortSignal,
): Promise<PassOutcome> {
  const prepared = await preparePass(c, memory, emit, onRevision, signal);
  const { revision, revisionChanged, desired, inventory, plan: p, hooks } = prepared;
  const sensitive = memory.rendered?.sensitive ?? new Set<string>();
  const redacted = (error: ConvergeError): ConvergeError => redactError(error, sensitive);
  const desiredRefs = desired.map(refOf);
  let upserts = p.changes.filter((x): x is UpsertChange => x.action === 'create' || x.action === 'update');
  let counts = p.counts;
  if (!revisionChanged && !c.dryRun && upserts.some((x) => x.action === 'update')) {
    // Same revision: what the local comparison calls drift is confirmed by the server first.
    const { falsePositives } = await confirmDrift(
      upserts.filter((x) => x.action === 'update'),
      { sink: c.sink, owner: c.name, remembered: (memory.falseDrift ??= new Map()), signal, withPrecondition },
    );
    const noChange = new Set(falsePositives.map((x) => refKey(x.ref)));
    upserts = upserts.filter((x) => !noChange.has(refKey(x.ref)));
    counts = { ...counts, updated: counts.updated - noChange.size, unchanged: counts.unchanged + noChange.size };
  }
  const deletes = p.changes.filter((x): x is DeleteChange => x.action === 'delete');
  // Inventory objects not seen live are verified by the sink's delete: gone is dropped, unreadable stays.
  const toDelete = c.prune ? [...deletes.map((x) => x.ref), ...p.unseen].filter((ref) => !c.sink.isReserved?.(ref)) : [];
  const actionOf = new Map(upserts.map((x) => [refKey(x.ref), x.action as 'create' | 'update']));
  if (!revisionChanged) for (const x of upserts) emit({ type: 'drift.detected', ref: x.ref, via: 'plan' });

  checkPruneBudget(c, memory, deletes.length, inventory.length, revision, emit);
  await checkContainerDeletes(c, deletes, signal);
  signal.throwIfAborted();

  // The inventory grows only by objects about to be applied, before they are.
  const pending = unionRefs(inventory, upserts.map((x) => x.ref));
  if (!c.dryRun && (prepared.inventoryRepaired || !sameRefs(pending, inventory))) await c.sink.writeInventory(c.name, pending, { signal });

  const failures: ConvergeError[] = [];
  const notCreated: ObjectRef[] = [];
  const recordedBefore = new Set(inventory.map(refKey));
  const applyWave = async (changes: readonly UpsertChange[]): Promise<void> => {
    if (changes.length === 0) return;
    signal.throwIfAborted();
    const results = await c.sink.apply(changes.map(withPrecondition), {
      dryRun: c.dryRun,
      // Reverting drift (same revision as the last success) takes fields back from whoever edited them.
      force: c.forceConflicts || !revisionChanged,
      owner: c.name,
      signal,
      onResult: (r) => {
        if (r.ok) emit({ type: 'object.applied', ref: r.ref, action: actionOf.get(refKey(r.ref)) ?? 'update', dryRun: c.dryRun });
      },
    });
    for (const r of results) {
      if (r.ok) continue;
      const recreated = await recreateIfAllowed(r, changes);
      if (recreated) continue;
      emit({ type: 'object.failed', ref: r.ref, error: redacted(withOrigin(r.error, desired, r.ref)) });
      failures.push(r.error);
      // A create the server refused outright created nothing; one that timed out may have. An
      // object recorded before stays recorded: it may exist where this identity cannot see it.
      if (actionOf.get(refKey(r.ref)) === 'create' && !r.error.retryable && !recordedBefore.has(refKey(r.ref))) notCreated.push(r.ref);
    }
  };
  /** An immutable field changed on an object that opted in: delete it, wait until it is gone, create it again. */
  const recreateIfAllowed = async (r: ApplyResult & { ok: false }, changes: readonly UpsertChange[]): Promise<boolean> => {
    if (r.error.code !== 'IMMUTABLE_FIELD' || c.dryRun) return false;
    const desiredObject = changes.find((x) => refKey(x.ref) === refKey(r.ref))?.desired;
    if (!desiredObject || !mayRecreate(desiredObject, c.recreate)) return false;
    const [gone] = await c.sink.delete([r.ref], { owner: c.name, signal });
    if (!gone?.ok || gone.skipped) return false;
    const lingering = await waitUntilGone({ sink: c.sink, refs: [r.ref], clock: c.clock, timeoutMs: 60_000, pollIntervalMs: 500, signal });
    if (lingering) throw new ImmutableFieldError(`${formatRef(r.ref)} was deleted to be re-created but is still there after 60 s (a finalizer?)`, { ref: r.ref, fields: [] });
    const [again] = await c.sink.apply([desiredObject], { owner: c.name, force: true, signal });
    if (!again?.ok) return false;
    emit({ type: 'object.recreated', ref: r.ref, fields: Array.isArray(r.error.data['fields']) ? (r.error.data['fields'] as string[]) : [] });
    emit({ type: 'object.applied', ref: r.ref, action: 'update', dryRun: false });
    return true;
  };

  // Hooks run once per revision: PreSync, the waves in order (each waited for before the next),
  // PostSync; SyncFail when any of it fails.
  const hooksNow = hooks.length > 0 && memory.hooksRanFor !== revision;
  const hookRun: HookRun = {
    owner: c.name,
    sink: c.sink,
    clock: c.clock,
    signal,
    dryRun: c.dryRun,
    timeoutMs: c.hookTimeoutMs,
    pollIntervalMs: c.wait ? c.wait.pollIntervalMs : 2000,
    emit,
    health: c.health,
    redact: redacted,
  };
  // Sync hooks run in their wave, after its objects; a wave may hold only hooks.
  const syncHooks = hooksNow ? hooks.filter((h) => h.spec.phase === 'Sync') : [];
  const waves = groupByNumber<KubeObject | Hook>([...desired, ...syncHooks], (x) => (isHook(x) ? x.spec.weight : waveOf(x)));
  const phased = hooksNow || waves.length > 1;
  const hasPostSync = hooksNow && hooks.some((h) => h.spec.phase === 'PostSync');
  try {
    if (hooksNow) await runHooks('PreSync', hooks, hookRun);
    for (const [i, wave] of waves.entries()) {
      const objects = wave.items.filter((x): x is KubeObject => !isHook(x));
      const keys = new Set(objects.map((o) => refKey(refOf(o))));
      if (phased) emit({ type: 'phase.started', phase: 'Sync', wave: wave.key });
      await applyWave(upserts.filter((x) => keys.has(refKey(x.ref))));
      if (failures.length > 0) break;
      await runHooks('Sync', syncHooks.filter((h) => h.spec.weight === wave.key), hookRun);
      const last = i === waves.length - 1;
      if (!c.dryRun && objects.length > 0 && ((!last && waves.length > 1) || (last && hasPostSync))) {
        await waitForHealth(c.sink, objects.map(refOf), {
          timeoutMs: c.wait ? c.wait.timeoutMs : c.waveTimeoutMs,
          pollIntervalMs: hookRun.pollIntervalMs,
          clock: c.clock,
          signal,
          health: c.health,
          onChange: (ref, health) => emit({ type: 'health.changed', ref, health }),
        });
      }
    }
    if (failures.length > 0) {
      if (!c.dryRun && notCreated.length > 0) await c.sink.writeInventory(c.name, minus(pending, notCreated), { signal });
      throw combine(`${c.name}: ${failures.length} of ${upserts.length} objects failed to apply; nothing was pruned`, failures);
    }
    if (hooksNow) await runHooks('PostSync', hooks, hookRun);
  } catch (error) {
    if (hooksNow && !c.dryRun && !signal.aborted) {
      // Best effort: a SyncFail hook that fails too is reported, the pass's own error stands.
      await runHooks('SyncFail', hooks, hookRun).catch((thrown: unknown) => {
        const failure = toConvergeError(thrown);
        emit({ type: 'object.failed', ref: failure.data.ref ?? refOf(hooks[0]!.object), error: redacted(failure) });
      });
    }
    throw error;
  }
  if (hooksNow && !c.dryRun) memory.hooksRanFor = revision;

  const keep: ObjectRef[] = [];
  let deleted = 0;
  if (toDelete.length > 0) {
    signal.throwIfAborted();
    const results = await c.sink.delete(toDelete, {
      dryRun: c.dryRun,
      owner: c.name,
      signal,
      onResult: (r) => {
        if (!r.ok) emit({ type: 'object.failed', ref: r.ref, error: redacted(r.error) });
        else if (r.skipped) emit({ type: 'object.orphaned', ref: r.ref });
        else if (r.found) emit({ type: 'object.pruned', ref: r.ref, dryRun: c.dryRun });
      },
    });
    for (const r of results) {
      if (!r.ok) {
        failures.push(r.error);
        keep.push(r.ref);
      } else if (r.found && !r.skipped) deleted++;
    }
  }
  for (const ref of p.orphaned) emit({ type: 'object.orphaned', ref });

  // With prune off, no-longer-desired objects stay recorded so turning prune on later removes
  // them; objects protected by annotation are released; nothing unseen is forgotten.
  const managed = unionRefs(desiredRefs, keep, c.prune ? [] : [...p.orphaned, ...p.unseen]);
  if (!c.dryRun && !sameRefs(managed, pending)) await c.sink.writeInventory(c.name, managed, { signal });
  if (failures.length > 0) throw combine(`${c.name}: ${failures.length} of ${toDelete.length} objects failed to prune`, failures);
  if (memory.pruneApproved === revision) delete memory.pruneApproved;

  if (c.wait && !c.dryRun) {
    await waitForHealth(c.sink, desiredRefs, {
      timeoutMs: c.wait.timeoutMs,
      pollIntervalMs: c.wait.pollIntervalMs,
      clock: c.clock,
      signal,
      health: c.health,
      onChange: (ref, health) => emit({ type: 'health.changed', ref, health }),
    });
  }

  counts = { ...counts, deleted };
  return { revision, counts, driftCorrected: revisionChanged ? 0 : counts.created + counts.updated, managed };
}

/** The object to apply, carrying the live resourceVersion it was planned against as a precondition. */
function withPrecondition(change: UpsertChange): KubeObject {
  const desired = change.desired;
  const resourceVersion = change.action === 'update' ? change.live.metadata['resourceVersion'] : undefined;
  if (typeof resourceVersion !== 'string') return desired;
  return inheritOrigin({ ...desired, metadata: { ...desired.metadata, resourceVersion } }, desired);
}

/** An apply error about `ref`, with the file and line the object was declared at. */
function withOrigin(error: ConvergeError, desired: readonly KubeObject[], ref: ObjectRef): ConvergeError {
  if (error.data.position) return error;
  const obj = desired.find((o) => refKey(refOf(o)) === refKey(ref));
  const position = obj && originOf(obj);
  if (!position) return error;
  error.data.position = position;
  error.message = `${error.message} (declared at ${formatPosition(position)})`;
  return error;
}

/**
 * Stops before anything is written when the pass would delete more than the budget allows:
 * a wrong path, branch or overlay otherwise prunes a whole application.
 */
function checkPruneBudget(c: PassConfig, memory: PassMemory, deletes: number, inventory: number, revision: string, emit: PassEmit): void {
  if (!c.prune || !c.pruneBudget || deletes === 0 || memory.pruneApproved === revision) return;
  const allowed = Math.max(c.pruneBudget.minCount, Math.floor(inventory * c.pruneBudget.maxFraction));
  if (deletes <= allowed) return;
  emit({ type: 'prune.blocked', revision, wouldDelete: deletes, allowed });
  throw new PruneBudgetError(
    `${c.name}: revision ${revision} would delete ${deletes} of ${inventory} recorded objects, more than the prune budget of ${allowed}; ` +
      'nothing was changed. If this is intended, approve it (reconciler.approvePrune(), or reconcile({ approvePrune: true })); ' +
      'otherwise check the source path, branch and renderer',
    { wouldDelete: deletes, inventory, allowed, revision },
  );
}

/**
 * Refuses, before anything is written, to delete a Namespace or a CustomResourceDefinition that
 * holds objects this pass does not delete itself: deleting a Namespace deletes everything in it
 * and deleting a CRD deletes every custom resource of its kind, including objects of other
 * reconcilers, objects made by hand and objects marked `converge.dev/prune: disabled`.
 */
async function checkContainerDeletes(c: PassConfig, deletes: readonly DeleteChange[], signal: AbortSignal): Promise<void> {
  const deleting = new Set(deletes.map((x) => refKey(x.ref)));
  const blocked: { name: string; blockers: ObjectRef[] }[] = [];
  for (const change of deletes) {
    const live = change.live;
    if (live.metadata.annotations?.[NAMESPACE_DELETE_ANNOTATION] === 'true') continue;
    const contents = await containedBy(c, live, signal);
    if (contents === undefined) continue;
    const label = `${live.kind} ${live.metadata.name}`;
    if (contents === 'unlistable') blocked.push({ name: label, blockers: [] });
    else {
      const blockers = namespaceBlockers(contents, c.name, deleting);
      if (blockers.length > 0) blocked.push({ name: label, blockers });
    }
  }
  if (blocked.length === 0) return;
  const describe = (b: { name: string; blockers: ObjectRef[] }): string =>
    b.blockers.length === 0
      ? `${b.name} (this sink cannot list what it holds)`
      : `${b.name}, which holds ${b.blockers.slice(0, 10).map(formatRef).join(', ')}${b.blockers.length > 10 ? ` and ${b.blockers.length - 10} more` : ''}`;
  throw new NamespaceNotEmptyError(
    `${c.name}: refusing to delete ${blocked.map(describe).join('; ')}: deleting it deletes everything it holds. ` +
      `Move or delete those objects, or annotate it ${NAMESPACE_DELETE_ANNOTATION}: "true" to delete it with its contents; nothing was changed`,
    { namespaces: blocked },
  );
}

/** What deleting `live` would delete with it, `'unlistable'` if the sink cannot say, or `undefined` if it holds nothing. */
async function containedBy(c: PassConfig, live: KubeObject, signal: AbortSignal): Promise<KubeObject[] | 'unlistable' | undefined> {
  const { group } = parseApiVersion(live.apiVersion);
  if (group === '' && live.kind === 'Namespace') {
    return c.sink.listNamespace ? c.sink.listNamespace(live.metadata.name, { signal }) : 'unlistable';
  }
  if (group === 'apiextensions.k8s.io' && live.kind === 'CustomResourceDefinition') {
    const spec = live['spec'] as { group?: unknown; names?: { kind?: unknown } } | undefined;
    if (typeof spec?.group !== 'string' || typeof spec.names?.kind !== 'string') return undefined;
    return c.sink.listKind ? c.sink.listKind({ group: spec.group, kind: spec.names.kind }, { signal }) : 'unlistable';
  }
  return undefined;
}

function isHook(x: KubeObject | Hook): x is Hook {
  return (x as Hook).object !== undefined && (x as Hook).spec !== undefined && (x as KubeObject).apiVersion === undefined;
}

/** Whether an object may be deleted and created again to change an immutable field. */
function mayRecreate(obj: KubeObject, recreate: (ref: ObjectRef) => boolean): boolean {
  if (obj.metadata.annotations?.[FORCE_ANNOTATION] === 'enabled') return true;
  const ref = refOf(obj);
  // Objects that hold data are only recreated when the object itself says so.
  if (ref.group === '' && (ref.kind === 'PersistentVolumeClaim' || ref.kind === 'Namespace' || ref.kind === 'PersistentVolume')) return false;
  return recreate(ref);
}

function minus(refs: readonly ObjectRef[], remove: readonly ObjectRef[]): ObjectRef[] {
  const gone = new Set(remove.map(refKey));
  return refs.filter((ref) => !gone.has(refKey(ref)));
}

/** Renders and admits a revision, and splits what came out into ordinary objects and hooks. */
async function render(c: PassConfig, revision: string, signal: AbortSignal): Promise<{ objects: KubeObject[]; hooks: Hook[]; skipped: { ref: ObjectRef; reason: string }[] }> {
  const artifact = await inStage('source', c.source.id, () => c.source.fetch(revision, { signal }));
  signal.throwIfAborted();
  const rendered: unknown = await inStage('render', pluginName(c.render, 'renderer'), () => c.render({ artifact, signal }));
  signal.throwIfAborted();
  const admitted = await admit(rendered, {
    renderer: pluginName(c.render, 'renderer'),
    reconciler: c.name,
    maxObjects: c.maxObjects,
    sink: c.sink,
    defaultNamespace: c.defaultNamespace,
    signal,
    revision,
  });
  const objects: KubeObject[] = [];
  const hooks: Hook[] = [];
  const skipped: { ref: ObjectRef; reason: string }[] = [];
  for (const admittedObject of admitted) {
    const obj = inheritOrigin(
      { ...admittedObject, metadata: { ...admittedObject.metadata, annotations: { ...admittedObject.metadata.annotations, [OWNER_ANNOTATION]: c.name } } },
      admittedObject,
    );
    const hook = hookOf(obj);
    if (!hook) {
      waveOf(obj); // an annotation that is not an integer fails here, before anything is written
      objects.push(obj);
    } else if ('unsupported' in hook) skipped.push({ ref: refOf(obj), reason: `${hook.unsupported} is not a hook Converge runs; the object was left out` });
    else hooks.push({ object: obj, spec: hook });
  }
  return { objects, hooks, skipped };
}

function combine(message: string, errors: ConvergeError[]): ConvergeError {
  return errors.length === 1 ? errors[0]! : new AggregateConvergeError(message, errors);
}
