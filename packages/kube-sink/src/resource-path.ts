import type { ResourceMapping } from './discovery.js';

/**
 * The URL path of a collection (no `name`) or of one object. Cluster-scoped kinds ignore
 * `namespace`; a namespaced collection without `namespace` spans all namespaces.
 */
export function resourcePath(mapping: ResourceMapping, namespace?: string, name?: string): string {
  const base = mapping.group === '' ? `/api/${mapping.version}` : `/apis/${mapping.group}/${mapping.version}`;
  const ns = mapping.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${base}${ns}/${mapping.resource}${obj}`;
}

/** The resource as kubectl names it in messages: `deployments.apps`, `configmaps` for the core group. */
export function resourceName(mapping: Pick<ResourceMapping, 'group' | 'resource'>): string {
  return mapping.group ? `${mapping.resource}.${mapping.group}` : mapping.resource;
}
