import { provenanceOf, recordProvenance } from './internal/provenance.js';

/**
 * Marks values of `obj` as sensitive, whatever its kind: `pointers` are JSON pointers
 * (RFC 6901, relative to the object, e.g. `/spec/password` or `/data`), and everything at or
 * under each one is treated like a Secret's data from then on: masked by {@link maskSecret} and
 * {@link formatPlan}, and scrubbed from errors, events and logs by the runtime (through
 * {@link sensitiveValues}). A transform that decrypts values (SOPS) calls it on what it
 * returns. Marks add up; like origins they live beside the object, never in it, and follow
 * copies made with {@link inheritOrigin}. Returns `obj`, for chaining.
 *
 * @example
 * ```ts
 * const decrypted = markSensitive({ ...obj, spec: { ...obj.spec, token } }, ['/spec/token']);
 * ```
 */
export function markSensitive<T extends object>(obj: T, pointers: Iterable<string>): T {
  const merged = new Set(provenanceOf(obj)?.sensitive);
  for (const pointer of pointers) {
    if (pointer !== '' && !pointer.startsWith('/')) throw new TypeError(`markSensitive: ${JSON.stringify(pointer)} is not a JSON pointer (it must start with "/")`);
    merged.add(pointer);
  }
  return recordProvenance(obj, { sensitive: merged });
}

/** The JSON pointers marked with {@link markSensitive} on `obj` (empty when none). */
export function sensitivePathsOf(obj: object): ReadonlySet<string> {
  return provenanceOf(obj)?.sensitive ?? EMPTY;
}

/**
 * Whether what `pointer` addresses in `obj` touches a sensitive value: it is at or under a
 * marked pointer, or holds one (a patch that adds `/spec` adds the secret under it too).
 */
export function touchesSensitive(obj: object, pointer: string): boolean {
  for (const marked of sensitivePathsOf(obj)) if (overlaps(marked, pointer)) return true;
  return false;
}

const EMPTY: ReadonlySet<string> = new Set();

function overlaps(a: string, b: string): boolean {
  return a === b || a === '' || b === '' || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}
