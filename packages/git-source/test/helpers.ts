import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileTree } from '@converge/core';

/** A fresh temporary folder; removed by the returned function. */
export async function tempDir(prefix = 'converge-git-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Reads every file of a tree as text. */
export async function readAll(files: FileTree): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of await files.list()) out[path] = new TextDecoder().decode(await files.read(path));
  return out;
}
