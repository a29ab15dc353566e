import { memoryFileTree } from '../../src/memory-file-tree.js';
import type { KubeObject } from '../../src/object.js';
import type { Source } from '../../src/source.js';

/**
 * A source whose revision and objects a test changes between passes, and the renderer that
 * returns them as they are (odd shapes included: the runtime's admission is what is tested).
 */
export function scene(initial: readonly unknown[]) {
  let objects = initial;
  let revision = 1;
  const source: Source = {
    id: 'scene',
    latestRevision: async () => `r${revision}`,
    fetch: async (r) => ({ source: 'scene', revision: r ?? `r${revision}`, files: memoryFileTree({}) }),
  };
  return {
    source,
    render: async () => [...objects] as KubeObject[],
    set(next: readonly unknown[]) {
      objects = next;
      revision++;
    },
  };
}
