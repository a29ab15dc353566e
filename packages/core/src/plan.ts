import { isPruneDisabled, ownerOf } from './annotations.js';
import type { Change, ChangeCounts } from './change.js';
import { countChanges } from './change.js';
import { diff, type DiffOptions } from './diff.js';
import { DuplicateObjectError } from './errors.js';
import { formatRef, refKey, refOf, type KubeObject, type ObjectRef } from './object.js';
import { originOf } from './origin.js';
import { sortForApply } from './order.js';

/** Input of {@link plan}. */
export interface PlanInput extends DiffOptions {
  /** The rendered desired objects. */
  desired: readonly KubeObject[];
  /** The live objects (for desired and inventory refs; missing ones are simply absent). */
  live: readonly KubeObject[];
  /** The refs this reconciler recorded last time. Only these can be pruned. */
  inventory: readonly ObjectRef[];
  /** Delete inventory objects that are no longer desired. @default false */
  prune?: boolean;
  /** This reconciler's name; live objects annotated with another owner are reported as conflicts. */
  owner?: string;
  /** Take over objects owned by another reconciler instead of reporting a conflict. @default false */
  adopt?: boolean;
}

/** A live object that another reconciler owns. */
export interface OwnershipConflict {
  ref: ObjectRef;
  owner: string;
}

/** The ordered changes that make live state equal desired state. */
export interface Plan {
  /** Creates and updates in apply order, unchanged objects among them, then deletes in reverse apply order. */
  changes: Change[];
  /** Inventory objects no longer desired that are kept because of `converge.dev/prune: disabled` or `prune: false`. */
  orphaned: ObjectRef[];
  /**
   * Inventory objects no longer desired that were not among the live objects: already gone,
   * or unreadable by this identity. Unknown is not gone: the runtime keeps them recorded until
   * a delete (with prune) confirms they are gone, and never counts them as deleted here.
   */
  unseen: ObjectRef[];
  /** Desired objects that another reconciler owns (empty when `adopt` is set). */
  conflicts: OwnershipConflict[];
  /** Counts of the changes by action. */
  counts: ChangeCounts;
}

/**
 * Compares desired state with live state and the last inventory. Pure: no I/O.
 *
 * @throws {DuplicateObjectError} when two desired objects have the same identity.
 * @example
 * ```ts
 * const { changes } = plan({ desired, live: await sink.get(refs), inventory, prune: true });
 * ```
 */
export function plan(input: PlanInput): Plan {
  const live = new Map(input.live.map((obj) => [refKey(refOf(obj)), obj]));
  const desiredKeys = new Map<string, KubeObject>();
  const conflicts: OwnershipConflict[] = [];
  const upserts: Change[] = [];

  for (const desired of input.desired) {
    const ref = refOf(desired);
    const key = refKey(ref);
    const first = desiredKeys.get(key);
    if (first) throw duplicate(ref, first, desired);
    desiredKeys.set(key, desired);

    const current = live.get(key);
    if (!current) {
      upserts.push({ action: 'create', ref, desired });
      continue;
    }
    const owner = ownerOf(current);
    if (input.owner && owner && owner !== input.owner && !input.adopt) conflicts.push({ ref, owner });
    const { changed, patch } = diff(desired, current, input);
    upserts.push(changed ? { action: 'update', ref, desired, live: current, patch } : { action: 'unchanged', ref, desired, live: current });
  }

  const deletes: Change[] = [];
  const orphaned: ObjectRef[] = [];
  const unseen: ObjectRef[] = [];
  for (const ref of input.inventory) {
    const key = refKey(ref);
    if (desiredKeys.has(key)) continue;
    const current = live.get(key);
    if (!current) {
      unseen.push(ref);
      continue;
    }
    const ownedByOther = input.owner !== undefined && ownerOf(current) !== undefined && ownerOf(current) !== input.owner;
    if (ownedByOther) continue;
    if (!input.prune || isPruneDisabled(current)) orphaned.push(ref);
    else deletes.push({ action: 'delete', ref, live: current });
  }

  const changes = [...sortForApply(upserts, (c) => c.ref), ...sortForApply(deletes, (c) => c.ref).reverse()];
  return { changes, orphaned, unseen, conflicts, counts: countChanges(changes) };
}

function duplicate(ref: ObjectRef, first: KubeObject, second: KubeObject): DuplicateObjectError {
  const where = [originOf(first), originOf(second)].map((p) => (p ? `${p.file}${p.line ? `:${p.line}` : ''}` : 'unknown origin'));
  return new DuplicateObjectError(`${formatRef(ref)} is declared twice (${where.join(' and ')}); remove one of them`, {
    ref,
    ...(originOf(second) && { position: originOf(second) }),
    positions: [originOf(first), originOf(second)],
  });
}
