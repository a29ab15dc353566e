import { copyProvenance } from './internal/provenance.js';
import type { KubeObject } from './object.js';
import { sensitivePathsOf } from './sensitive.js';

/** What a masked Secret value is shown as. */
export const MASK = '*** (masked)';

/** Whether an object is a core `Secret`, whose values must never be shown. */
export function isSecret(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

/**
 * A copy of `obj` safe to print: for Secrets every value under `data` and `stringData` is
 * replaced by {@link MASK}, and the last-applied annotation (which holds them too) is dropped;
 * for any object, every value marked with {@link markSensitive} is replaced by {@link MASK}
 * (maps and lists keep their keys and length, their values are masked).
 */
export function maskSecret<T extends KubeObject | undefined>(obj: T): T {
  if (!obj) return obj;
  const marked = sensitivePathsOf(obj);
  if (!isSecret(obj) && marked.size === 0) return obj;
  const copy = copyProvenance(structuredClone(obj) as KubeObject, obj);
  if (isSecret(obj)) {
    for (const field of ['data', 'stringData']) {
      const values = copy[field] as Record<string, unknown> | undefined;
      if (values) copy[field] = Object.fromEntries(Object.keys(values).map((k) => [k, MASK]));
    }
  }
  if (isSecret(obj) || marked.size > 0) {
    if (copy.metadata.annotations) delete copy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
  }
  for (const pointer of marked) maskAt(copy, pointer);
  return copy as T;
}

/** Replaces what `pointer` addresses in `doc` (if anything) by its masked form, in place. */
function maskAt(doc: KubeObject, pointer: string): void {
  const tokens = pointer.split('/').slice(1).map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (tokens.length === 0) return;
  let parent: unknown = doc;
  for (const token of tokens.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return;
    parent = (parent as Record<string, unknown>)[token];
  }
  const last = tokens.at(-1)!;
  if (parent === null || typeof parent !== 'object' || !Object.hasOwn(parent, last)) return;
  const holder = parent as Record<string, unknown>;
  holder[last] = masked(holder[last]);
}

function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]));
  return value === null ? value : MASK;
}
