import { OWNER_ANNOTATION } from '../annotations.js';
import type { ChangeCounts } from '../change.js';
import type { Clock } from '../clock.js';
import {
  AggregateConvergeError,
  EmptyDesiredStateError,
  GateError,
  OwnershipConflictError,
  type ConvergeError,
} from '../errors.js';
import type { ReconcileEvent } from '../events.js';
import type { Gate } from '../gate.js';
import type { IgnoreRule } from '../ignore-rules.js';
import { formatRef, refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';
import { inheritOrigin } from '../origin.js';
import { plan, type Plan } from '../plan.js';
import type { Renderer } from '../renderer.js';
import type { Sink } from '../sink.js';
import type { Source } from '../source.js';
import { sameRefs, unionRefs } from './ref-set.js';
import { waitForHealth } from './wait-for-health.js';

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
  wait: false | { timeout: number; pollInterval: number };
  clock: Clock;
}

/** What a pass remembers for the next one. */
export interface PassMemory {
  lastAppliedRevision?: string;
  rendered?: { revision: string; objects: KubeObject[] };
}

/** What a successful pass produced. */
export interface PassOutcome {
  revision: string;
  counts: ChangeCounts;
  driftCorrected: number;
  managed: ObjectRef[];
}

type Emit = (event: DistributiveOmit<ReconcileEvent, 'reconciler' | 'at'>) => void;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the first half of a pass found: the revision, the desired objects and the plan. */
export interface PreparedPass {
  revision: string;
  revisionChanged: boolean;
  desired: KubeObject[];
  inventory: ObjectRef[];
  plan: Plan;
}

/**
 * The read-only half of a pass: check the revision, render (or reuse the render of an
 * unchanged revision), run gates, read the inventory and live state, and plan. Writes nothing.
 */
export async function preparePass(c: PassConfig, memory: PassMemory, emit: Emit, onRevision: (revision: string) => void, signal: AbortSignal): Promise<PreparedPass> {
  const revision = await c.source.latestRevision({ signal });
  onRevision(revision);
  const revisionChanged = revision !== memory.lastAppliedRevision;
  emit({ type: 'revision.checked', revision, changed: revisionChanged });

  const reused = c.reuseRender && memory.rendered?.revision === revision;
  const desired = reused ? memory.rendered!.objects : await render(c, revision, signal);
  if (!reused) memory.rendered = { revision, objects: desired };
  emit({ type: 'rendered', revision, objects: desired.length, reused });
  if (desired.length === 0 && !c.allowEmpty) throw new EmptyDesiredStateError(c.name);

  for (const gate of c.gates) {
    const verdict = await gate.check(desired, { revision, signal });
    if (!verdict.ok) {
      emit({ type: 'gate.blocked', gate: gate.name, message: verdict.message });
      throw new GateError(gate.name, verdict.message, verdict.data);
    }
    emit({ type: 'gate.passed', gate: gate.name });
  }

  const inventory = (await c.sink.readInventory(c.name, { signal })) ?? [];
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
  return { revision, revisionChanged, desired, inventory, plan: p };
}

/**
 * One pass: {@link preparePass}, then record the inventory, apply, prune, record again and
 * wait. Throws on failure; nothing is pruned unless every apply succeeded.
 */
export async function runPass(
  c: PassConfig,
  memory: PassMemory,
  emit: Emit,
  onRevision: (revision: string) => void,
  signal: AbortSignal,
): Promise<PassOutcome> {
  const { revision, revisionChanged, desired, inventory, plan: p } = await preparePass(c, memory, emit, onRevision, signal);
  const desiredRefs = desired.map(refOf);
  const upserts = p.changes.filter((x) => x.action === 'create' || x.action === 'update');
  const deletes = p.changes.filter((x) => x.action === 'delete').map((x) => x.ref);
  const actionOf = new Map(upserts.map((x) => [refKey(x.ref), x.action as 'create' | 'update']));
  if (!revisionChanged) for (const x of upserts) emit({ type: 'drift.detected', ref: x.ref, via: 'plan' });

  const pending = unionRefs(inventory, desiredRefs);
  if (!c.dryRun && !sameRefs(pending, inventory)) await c.sink.writeInventory(c.name, pending, { signal });

  const failures: ConvergeError[] = [];
  if (upserts.length > 0) {
    const results = await c.sink.apply(
      upserts.map((x) => x.desired!),
      {
        dryRun: c.dryRun,
        // Reverting drift (same revision as the last success) takes fields back from whoever edited them.
        force: c.forceConflicts || !revisionChanged,
        signal,
        onResult: (r) => {
          if (r.ok) emit({ type: 'object.applied', ref: r.ref, action: actionOf.get(refKey(r.ref)) ?? 'update', dryRun: c.dryRun });
          else emit({ type: 'object.failed', ref: r.ref, error: r.error });
        },
      },
    );
    for (const r of results) if (!r.ok) failures.push(r.error);
  }
  if (failures.length > 0) throw combine(`${c.name}: ${failures.length} of ${upserts.length} objects failed to apply; nothing was pruned`, failures);

  const failedDeletes: ObjectRef[] = [];
  if (deletes.length > 0) {
    const results = await c.sink.delete(deletes, {
      dryRun: c.dryRun,
      signal,
      onResult: (r) => {
        if (r.ok) emit({ type: 'object.pruned', ref: r.ref, dryRun: c.dryRun });
        else emit({ type: 'object.failed', ref: r.ref, error: r.error });
      },
    });
    for (const r of results) {
      if (!r.ok) {
        failures.push(r.error);
        failedDeletes.push(r.ref);
      }
    }
  }
  for (const ref of p.orphaned) emit({ type: 'object.orphaned', ref });

  // With prune off, no-longer-desired objects stay recorded so turning prune on later removes them;
  // objects protected by annotation are released.
  const managed = unionRefs(desiredRefs, failedDeletes, c.prune ? [] : p.orphaned);
  if (!c.dryRun && !sameRefs(managed, pending)) await c.sink.writeInventory(c.name, managed, { signal });
  if (failures.length > 0) throw combine(`${c.name}: ${failures.length} of ${deletes.length} objects failed to prune`, failures);

  if (c.wait && !c.dryRun) {
    await waitForHealth({
      sink: c.sink,
      refs: desiredRefs,
      timeout: c.wait.timeout,
      pollInterval: c.wait.pollInterval,
      clock: c.clock,
      signal,
      onChange: (ref, health) => emit({ type: 'health.changed', ref, health }),
    });
  }

  const counts = p.counts;
  return { revision, counts, driftCorrected: revisionChanged ? 0 : counts.created + counts.updated, managed };
}

async function render(c: PassConfig, revision: string, signal: AbortSignal): Promise<KubeObject[]> {
  const artifact = await c.source.fetch(revision, { signal });
  const objects = await c.render({ artifact, signal });
  return objects.map((obj) =>
    inheritOrigin(
      { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [OWNER_ANNOTATION]: c.name } } },
      obj,
    ),
  );
}

function combine(message: string, errors: ConvergeError[]): ConvergeError {
  return errors.length === 1 ? errors[0]! : new AggregateConvergeError(message, errors);
}
