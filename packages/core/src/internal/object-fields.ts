/**
 * Tolerant readers for nested fields of unstructured objects, in the manner of kstatus'
 * `GetIntField`/`GetStringField`: a missing field or one of the wrong type gives the default.
 */

/** The value at a dotted path (`status.readyReplicas`), or `undefined`. */
export function fieldAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** An integer field, or `fallback` when absent or not an integer. */
export function intField(obj: unknown, path: string, fallback: number): number {
  const v = fieldAt(obj, path);
  return typeof v === 'number' && Number.isInteger(v) ? v : fallback;
}

/** An integer field, or `undefined` when absent or not an integer. */
export function optionalIntField(obj: unknown, path: string): number | undefined {
  const v = fieldAt(obj, path);
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** A string field, or `fallback` when absent or not a string. */
export function stringField(obj: unknown, path: string, fallback: string): string {
  const v = fieldAt(obj, path);
  return typeof v === 'string' ? v : fallback;
}
