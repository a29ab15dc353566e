import type { ObjectRef } from '@converge/core';

/** Refs of one kind in one namespace (`undefined`: none named). */
export interface RefGroup {
  group: string;
  kind: string;
  namespace: string | undefined;
  refs: ObjectRef[];
}

/** Groups refs by kind and namespace, keeping their order within each group. */
export function groupRefs(refs: readonly ObjectRef[]): RefGroup[] {
  const groups = new Map<string, RefGroup>();
  for (const ref of refs) {
    const key = `${ref.group}/${ref.kind}/${ref.namespace ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { group: ref.group, kind: ref.kind, namespace: ref.namespace, refs: [] }));
    g.refs.push(ref);
  }
  return [...groups.values()];
}
