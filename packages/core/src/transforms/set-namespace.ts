import { assertUnique } from '../internal/assert-unique.js';
import { parseApiVersion } from '../object.js';
import type { KubeObject } from '../object.js';
import { inheritOrigin } from '../origin.js';
import { named, type Transform } from '../renderer.js';
import { isClusterScoped } from './cluster-scoped-kinds.js';

/** Options for {@link setNamespace}. */
export interface SetNamespaceOptions {
  /**
   * More cluster-scoped kinds, for custom resources whose CRD is not part of the same render:
   * `group/Kind` (e.g. `cert-manager.io/ClusterIssuer`) or a bare `Kind` for any group.
   * CRDs in the rendered objects are read automatically: `spec.scope: Cluster` makes their
   * kind cluster-scoped.
   * @default []
   */
  clusterScoped?: string[];
  /**
   * Whether to replace namespaces already set in the manifests. By default they are kept,
   * so a file can still place an object in another namespace on purpose.
   * @default false
   */
  override?: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A transform that puts every namespaced object into namespace `namespace`.
 *
 * Cluster-scoped objects (Namespaces, ClusterRoles, CRDs…, see `isClusterScoped`) are left
 * alone, as are custom resources whose CRD in the same render says `scope: Cluster` or that
 * `clusterScoped` lists. Kinds it cannot tell apart are assumed namespaced, as most custom
 * resources are. Objects are copied, never changed in place.
 *
 * @throws {@link DuplicateObjectError} (`DUPLICATE_OBJECT`) when two objects become the same
 *   object once namespaced (e.g. one had no namespace, the other the target one).
 * @example
 * ```ts
 * const render = pipe(yamlFiles(), setNamespace('team-a', { clusterScoped: ['cert-manager.io/ClusterIssuer'] }));
 * ```
 */
export function setNamespace(namespace: string, options: SetNamespaceOptions = {}): Transform {
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new TypeError(`setNamespace: ${JSON.stringify(namespace)} is not a valid namespace name (lowercase letters, digits and "-", at most 63 characters)`);
  }
  const override = options.override ?? false;
  return named('setNamespace', (objects: KubeObject[]) => {
    const clusterScoped = [...(options.clusterScoped ?? []), ...clusterScopedCustomKinds(objects)];
    const result = objects.map((obj) => {
      if (isClusterScoped({ group: parseApiVersion(obj.apiVersion).group, kind: obj.kind }, clusterScoped)) return obj;
      if (obj.metadata.namespace && !override) return obj;
      if (obj.metadata.namespace === namespace) return obj;
      return inheritOrigin({ ...obj, metadata: { ...obj.metadata, namespace } }, obj);
    });
    assertUnique(result, ` after setNamespace(${JSON.stringify(namespace)})`);
    return result;
  });
}

/** `group/Kind` of every custom resource kind declared cluster-scoped by a CRD among `objects`. */
function clusterScopedCustomKinds(objects: readonly KubeObject[]): string[] {
  const kinds: string[] = [];
  for (const obj of objects) {
    if (obj.kind !== 'CustomResourceDefinition' || parseApiVersion(obj.apiVersion).group !== 'apiextensions.k8s.io') continue;
    const spec = obj.spec as { group?: unknown; scope?: unknown; names?: { kind?: unknown } } | undefined;
    if (spec?.scope === 'Cluster' && typeof spec.group === 'string' && typeof spec.names?.kind === 'string') {
      kinds.push(`${spec.group}/${spec.names.kind}`);
    }
  }
  return kinds;
}
