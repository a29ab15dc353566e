import type { KubeObject } from './object.js';

/** What a masked Secret value is shown as. */
export const MASK = '*** (masked)';

/** Whether an object is a core `Secret`, whose values must never be shown. */
export function isSecret(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

/**
 * A copy of `obj` safe to print: for Secrets every value under `data` and `stringData` is
 * replaced by {@link MASK}, and the last-applied annotation (which holds them too) is dropped.
 */
export function maskSecret<T extends KubeObject | undefined>(obj: T): T {
  if (!obj || !isSecret(obj)) return obj;
  const copy = structuredClone(obj) as KubeObject;
  for (const field of ['data', 'stringData']) {
    const values = copy[field] as Record<string, unknown> | undefined;
    if (values) copy[field] = Object.fromEntries(Object.keys(values).map((k) => [k, MASK]));
  }
  if (copy.metadata.annotations) delete copy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  return copy as T;
}
