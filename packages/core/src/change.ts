import type { Operation } from 'fast-json-patch';
import type { KubeObject, ObjectRef } from './object.js';

/** One RFC 6902 JSON Patch operation. */
export type JsonPatchOperation = Operation;

/** What a plan does with one object. */
export type ChangeAction = 'create' | 'update' | 'delete' | 'unchanged';

/** One planned step. `patch` (for updates) turns the live object's compared fields into the desired ones. */
export interface Change {
  action: ChangeAction;
  ref: ObjectRef;
  desired?: KubeObject;
  live?: KubeObject;
  patch?: JsonPatchOperation[];
}

/** How many objects a plan or a pass created, updated, deleted and left unchanged. */
export interface ChangeCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

/** Counts the actions of a list of changes. */
export function countChanges(changes: readonly Pick<Change, 'action'>[]): ChangeCounts {
  const counts: ChangeCounts = { created: 0, updated: 0, deleted: 0, unchanged: 0 };
  for (const { action } of changes) {
    if (action === 'create') counts.created++;
    else if (action === 'update') counts.updated++;
    else if (action === 'delete') counts.deleted++;
    else counts.unchanged++;
  }
  return counts;
}
