import { InventoryDamagedError } from './errors.js';
import type { ObjectRef } from './object.js';

/** The inventory format version {@link encodeInventory} writes. */
export const INVENTORY_FORMAT = 2;

interface EncodedInventory {
  version: typeof INVENTORY_FORMAT;
  /** Refs grouped by group, kind and namespace, so each of them is written once. */
  groups: { group: string; kind: string; namespace?: string; names: string[] }[];
}

/**
 * Serialises refs for storage as JSON: grouped by API group, kind and namespace, sorted, and
 * deduplicated. JSON escaping means no field value (a `/`, a newline, a quote) can change
 * the structure, and grouping keeps 100,000 refs compact.
 *
 * @example
 * ```ts
 * const text = encodeInventory([{ group: 'apps', kind: 'Deployment', namespace: 'web', name: 'api' }]);
 * decodeInventory(text); // [{ group: 'apps', kind: 'Deployment', namespace: 'web', name: 'api' }]
 * ```
 */
export function encodeInventory(refs: readonly ObjectRef[]): string {
  const groups = new Map<string, { group: string; kind: string; namespace?: string; names: Set<string> }>();
  for (const ref of refs) {
    const key = JSON.stringify([ref.group, ref.kind, ref.namespace ?? null]);
    let entry = groups.get(key);
    if (!entry) groups.set(key, (entry = { group: ref.group, kind: ref.kind, ...(ref.namespace !== undefined && { namespace: ref.namespace }), names: new Set() }));
    entry.names.add(ref.name);
  }
  const encoded: EncodedInventory = {
    version: INVENTORY_FORMAT,
    groups: [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, g]) => ({ ...g, names: [...g.names].sort() })),
  };
  return JSON.stringify(encoded);
}

/**
 * Reads what {@link encodeInventory} wrote, and the line format of earlier versions
 * (`group/Kind/namespace/name` per line). A damaged entry comes back as a ref whose `kind` is
 * empty and whose `name` is the entry as stored, so that validation (`refProblem`) rejects
 * it and the runtime reports it and drops it on its next write instead of failing every pass.
 *
 * @throws {@link InventoryDamagedError} when the record cannot be read as a whole (not JSON,
 *   no `groups`): nothing in it can be trusted.
 */
export function decodeInventory(text: string): ObjectRef[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('{')) return decodeJson(trimmed);
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parts = line.split('/');
      if (parts.length !== 4) return damaged(line);
      const [group, kind, namespace, name] = parts as [string, string, string, string];
      return namespace ? { group, kind, namespace, name } : { group, kind, name };
    });
}

function decodeJson(text: string): ObjectRef[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InventoryDamagedError(`the inventory record is not valid JSON (${(error as Error).message})`);
  }
  const groups = (parsed as Partial<EncodedInventory> | null)?.groups;
  if (!Array.isArray(groups)) throw new InventoryDamagedError('the inventory record has no list of groups');
  const refs: ObjectRef[] = [];
  for (const g of groups as unknown[]) {
    const { group, kind, namespace, names } = (g ?? {}) as Record<string, unknown>;
    const valid = typeof group === 'string' && typeof kind === 'string' && (namespace === undefined || typeof namespace === 'string') && Array.isArray(names);
    if (!valid) {
      refs.push(damaged(JSON.stringify(g)));
      continue;
    }
    for (const name of names as unknown[]) {
      if (typeof name !== 'string') refs.push(damaged(JSON.stringify(name)));
      else refs.push(namespace === undefined ? { group, kind, name } : { group, kind, namespace: namespace as string, name });
    }
  }
  return refs;
}

function damaged(entry: string): ObjectRef {
  return { group: '', kind: '', name: entry };
}
