import fastJsonPatch from 'fast-json-patch';
import type { JsonPatchOperation } from './change.js';
import { ignoredPointers, removePointer, type IgnoreRule } from './ignore-rules.js';
import { normalize } from './normalize.js';
import { refOf, type KubeObject } from './object.js';

/** Options for {@link diff} and {@link plan}. */
export interface DiffOptions {
  /** Fields owned by other controllers, left out of the comparison. @default [] */
  ignore?: readonly IgnoreRule[];
}

/** The difference between a desired and a live object. */
export interface DiffResult {
  /** Whether applying `desired` would change the live object. */
  changed: boolean;
  /** RFC 6902 operations that turn the compared part of `live` into `desired`. */
  patch: JsonPatchOperation[];
  /** The live object reduced to the fields `desired` sets, normalised; the patch applies to it. */
  compared: unknown;
}

/**
 * Compares a desired object with its live counterpart. Pure.
 *
 * Server-set fields are normalised away and only the fields `desired` sets are compared, so
 * defaults the API server fills in (e.g. `imagePullPolicy`) do not show up as drift. Array
 * elements are compared position by position.
 */
export function diff(desired: KubeObject, live: KubeObject, options: DiffOptions = {}): DiffResult {
  const ignored = ignoredPointers(refOf(desired), options.ignore ?? []);
  // Removing ignored fields edits in place, so only then is a deep copy needed.
  const want = ignored.length > 0 ? structuredClone(normalize(desired)) : normalize(desired);
  // The sink reads live objects at the desired version; a version difference is not a change.
  const compared = { ...(project(want, normalize(live)) as object), apiVersion: want.apiVersion };
  for (const pointer of ignored) {
    removePointer(want, pointer);
    removePointer(compared, pointer);
  }
  const patch = fastJsonPatch.compare(compared as object, want) as JsonPatchOperation[];
  return { changed: patch.length > 0, patch, compared };
}

/** `live` reduced to the shape of `desired`: keys `desired` does not set are dropped, recursively. */
function project(desired: unknown, live: unknown): unknown {
  if (Array.isArray(desired) && Array.isArray(live)) {
    return live.map((item, i) => (i < desired.length ? project(desired[i], item) : item));
  }
  if (isPlainObject(desired) && isPlainObject(live)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(desired)) if (key in live) out[key] = project(desired[key], live[key]);
    return out;
  }
  return live;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
