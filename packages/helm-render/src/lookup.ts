import type { KubeObject } from '@converge/core';

/** What a template's `lookup "apiVersion" "Kind" "namespace" "name"` asks for. */
export interface LookupQuery {
  apiVersion: string;
  kind: string;
  /** `''` for cluster-scoped objects, or to search every namespace. */
  namespace: string;
  /** `''` to list every object of the kind (in the namespace). */
  name: string;
}

/**
 * Answers the `lookup` template function from live state (e.g. a sink's reader).
 * Return the object, `undefined` if it does not exist, or, when `query.name` is `''`, the
 * list of objects. Without one, `lookup` returns an empty result, as in `helm template`.
 * Only the wasm engine calls it; `helm template` never looks anything up.
 *
 * @example
 * ```ts
 * const lookup: HelmLookup = async ({ kind, namespace, name }) =>
 *   kind === 'Secret' && name === 'db' ? await readSecret(namespace, name) : undefined;
 * ```
 */
export type HelmLookup = (query: LookupQuery) => Promise<KubeObject | KubeObject[] | undefined>;
