import { refKey, type ObjectRef } from '../object.js';

/** The union of ref lists, first occurrence kept, in order. */
export function unionRefs(...lists: readonly (readonly ObjectRef[])[]): ObjectRef[] {
  const seen = new Map<string, ObjectRef>();
  for (const list of lists) for (const ref of list) if (!seen.has(refKey(ref))) seen.set(refKey(ref), ref);
  return [...seen.values()];
}

/** Whether two ref lists hold the same set of refs. */
export function sameRefs(a: readonly ObjectRef[], b: readonly ObjectRef[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(refKey));
  return b.every((ref) => keys.has(refKey(ref)));
}
