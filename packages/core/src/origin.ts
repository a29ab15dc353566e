import type { FilePosition } from './errors.js';
import { copyProvenance, provenanceOf, recordProvenance } from './internal/provenance.js';

/**
 * The file and line an object was parsed from, as recorded by `parseManifests` (and so by
 * `yamlFiles` and renderers built on it), or `undefined` for objects made in code.
 *
 * Origins are kept beside objects (in a `WeakMap`), not inside them, so they never reach a
 * sink. A transform that returns copies keeps them by calling {@link inheritOrigin}; the
 * built-in transforms do.
 *
 * @example
 * ```ts
 * const where = originOf(obj);
 * if (where) console.log(`${formatPosition(where)}: ${obj.kind} ${obj.metadata.name}`);
 * ```
 */
export function originOf(obj: object): FilePosition | undefined {
  return provenanceOf(obj)?.position;
}

/** Records that `obj` was parsed from `position`. Returns `obj`, for chaining. */
export function setOrigin<T extends object>(obj: T, position: FilePosition): T {
  return recordProvenance(obj, { position });
}

/**
 * Gives `copy` the origin (and other parse-time details) of `original`. Call it in a
 * transform that returns new objects so later errors can still name the file and line.
 * Returns `copy`.
 */
export function inheritOrigin<T extends object>(copy: T, original: object): T {
  return copyProvenance(copy, original);
}

/**
 * Records the namespace `obj` goes into if it names none and its kind is namespaced, as
 * `kubectl apply -n` and `helm install -n` do. A renderer that knows such a default (Helm's
 * release namespace) calls it; the runtime applies it once the sink's discovery has said
 * whether the kind is namespaced, so the identity it plans is the one the server stores.
 * The object itself is not changed. Returns `obj`, for chaining.
 *
 * @example
 * ```ts
 * const objects = parseManifests(text, 'templates/web.yaml').map((o) => setDefaultNamespace(o, 'shop'));
 * ```
 */
export function setDefaultNamespace<T extends object>(obj: T, namespace: string): T {
  return recordProvenance(obj, { defaultNamespace: namespace });
}

/** The default namespace recorded by {@link setDefaultNamespace}, if any. */
export function defaultNamespaceOf(obj: object): string | undefined {
  return provenanceOf(obj)?.defaultNamespace;
}

/** Formats a position as `file:line:column`, `file:line` or `file`, as compilers do. */
export function formatPosition(position: FilePosition): string {
  if (position.line === undefined) return position.file;
  return position.column === undefined
    ? `${position.file}:${position.line}`
    : `${position.file}:${position.line}:${position.column}`;
}
