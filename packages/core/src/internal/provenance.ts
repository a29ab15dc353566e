import type { FilePosition } from '../errors.js';

/** What Converge remembers about where a rendered object came from. */
export interface Provenance {
  /** The file and line of the document (or `List` item) the object was parsed from. */
  position?: FilePosition;
  /**
   * JSON pointers (relative to the object) of string values that were plain, unquoted YAML
   * scalars containing `${`. Substitution re-types them after replacing variables, the way
   * Flux's text-level substitution turns `replicas: ${N}` into a number.
   */
  plainScalars?: ReadonlySet<string>;
  /**
   * The namespace a renderer meant for this object when it names none and its kind turns out
   * to be namespaced (Helm's release namespace, Kustomize's `namespace`), as `kubectl -n` does.
   */
  defaultNamespace?: string;
  /**
   * JSON pointers (relative to the object) of values that must never be shown: values a
   * transform decrypted (SOPS) or otherwise knows to be secret, whatever the object's kind.
   */
  sensitive?: ReadonlySet<string>;
}

const provenance = new WeakMap<object, Provenance>();

/** The provenance recorded for `obj`, if any. */
export function provenanceOf(obj: object): Provenance | undefined {
  return provenance.get(obj);
}

/** Records (merging with what is already there) the provenance of `obj`. Returns `obj`. */
export function recordProvenance<T extends object>(obj: T, value: Provenance): T {
  provenance.set(obj, { ...provenance.get(obj), ...value });
  return obj;
}

/** Copies the provenance of `from` onto `to` (a transformed copy of it). Returns `to`. */
export function copyProvenance<T extends object>(to: T, from: object): T {
  const found = provenance.get(from);
  if (found && to !== from) provenance.set(to, found);
  return to;
}
