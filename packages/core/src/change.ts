import type { Operation } from 'fast-json-patch';
import type { KubeObject, ObjectRef } from './object.js';

/** One RFC 6902 JSON Patch operation. */
export type JsonPatchOperation = Operation;

/** Create an object that does not exist. */
export interface CreateChange {
  action: 'create';
  ref: ObjectRef;
  desired: KubeObject;
}

/** Update a live object; `patch` turns its compared fields into the desired ones. */
export interface UpdateChange {
  action: 'update';
  ref: ObjectRef;
  desired: KubeObject;
  live: KubeObject;
  patch: JsonPatchOperation[];
}

/** A live object that already is as desired. */
export interface UnchangedChange {
  action: 'unchanged';
  ref: ObjectRef;
  desired: KubeObject;
  live: KubeObject;
}

/** Delete (prune) a live object that left the desired state. */
export interface DeleteChange {
  action: 'delete';
  ref: ObjectRef;
  live: KubeObject;
}

/** One planned step, a discriminated union on `action`: each action carries exactly what it needs. */
export type Change = CreateChange | UpdateChange | UnchangedChange | DeleteChange;

/** What a plan does with one object. */
export type ChangeAction = Change['action'];

/** A change that applies the desired object: a create or an update. */
export type UpsertChange = CreateChange | UpdateChange;

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
