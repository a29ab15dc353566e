import type { ObjectRef } from './object.js';

/**
 * Fields that another controller owns and that a diff must not report (e.g. `/spec/replicas`
 * of a Deployment scaled by an HPA). Every match field that is set must equal the object's;
 * unset fields match anything.
 */
export interface IgnoreRule {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  /** RFC 6901 JSON pointers of the fields to ignore, e.g. `/spec/replicas`. */
  jsonPointers: string[];
}

/** The JSON pointers to ignore for `ref` under `rules`. */
export function ignoredPointers(ref: ObjectRef, rules: readonly IgnoreRule[]): string[] {
  return rules
    .filter(
      (r) =>
        (r.group === undefined || r.group === ref.group) &&
        (r.kind === undefined || r.kind === ref.kind) &&
        (r.namespace === undefined || r.namespace === ref.namespace) &&
        (r.name === undefined || r.name === ref.name),
    )
    .flatMap((r) => r.jsonPointers);
}

/** Removes the value at an RFC 6901 pointer from a JSON value, in place. Missing paths are ignored. */
export function removePointer(root: unknown, pointer: string): void {
  if (pointer === '' || pointer === '/') return;
  const tokens = pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = root;
  for (const token of tokens.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string, unknown>)[token];
  }
  const last = tokens.at(-1)!;
  if (Array.isArray(node)) {
    const index = Number(last);
    if (Number.isInteger(index) && index >= 0 && index < node.length) node.splice(index, 1);
  } else if (node !== null && typeof node === 'object') {
    delete (node as Record<string, unknown>)[last];
  }
}
