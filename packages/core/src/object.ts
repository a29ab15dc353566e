/**
 * A Kubernetes object as Converge sees it: plain JSON with the identity fields typed.
 */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

/** The identity of an object: API group, kind, namespace (absent for cluster-scoped kinds) and name. */
export interface ObjectRef {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** Group, version and kind parsed from an object's `apiVersion` and `kind`. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/**
 * Splits an `apiVersion` into group and version: `apps/v1` → `{ group: 'apps', version: 'v1' }`,
 * `v1` → `{ group: '', version: 'v1' }` (the core group).
 */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The group, version and kind of an object. */
export function gvkOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): GroupVersionKind {
  return { ...parseApiVersion(obj.apiVersion), kind: obj.kind };
}

/** The identity of an object. The version is not part of it: `apps/v1` and `apps/v1beta1` name the same object. */
export function refOf(obj: KubeObject): ObjectRef {
  const { group } = parseApiVersion(obj.apiVersion);
  const ref: ObjectRef = { group, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

/**
 * A stable text key for a ref, `group/Kind/namespace/name` with empty parts kept, e.g.
 * `apps/Deployment/web/api` or `/Namespace//web`. Used for maps, inventories and logs.
 */
export function refKey(ref: ObjectRef): string {
  return `${ref.group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** Parses a key made by {@link refKey} back into a ref. */
export function parseRefKey(key: string): ObjectRef {
  const parts = key.split('/');
  if (parts.length !== 4) throw new TypeError(`not a ref key: ${JSON.stringify(key)}`);
  const [group, kind, namespace, name] = parts as [string, string, string, string];
  const ref: ObjectRef = { group, kind, name };
  if (namespace) ref.namespace = namespace;
  return ref;
}

/** A short human-readable form of a ref for messages: `Kind.group namespace/name`, e.g. `Deployment.apps web/api` or `ConfigMap web/settings` (core group), `Namespace web` (cluster-scoped). */
export function formatRef(ref: ObjectRef): string {
  const kind = ref.group ? `${ref.kind}.${ref.group}` : ref.kind;
  return `${kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
