import type { FileTree } from '@converge/core';

/** Every file of a tree (or of one folder of it), named from the tree's root. */
export async function readTree(tree: FileTree, dir?: string, signal?: AbortSignal): Promise<Array<{ name: string; data: Uint8Array }>> {
  const names = await tree.list(dir);
  const out: Array<{ name: string; data: Uint8Array }> = [];
  for (const name of names) {
    signal?.throwIfAborted();
    out.push({ name, data: await tree.read(name) });
  }
  return out;
}
