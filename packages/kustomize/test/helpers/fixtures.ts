import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryFileTree, type Artifact } from '@converge/core';

/** The folder of the test fixtures. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Every file below `dir`, named from it with `/`. */
export async function filesOf(dir: string): Promise<Array<{ name: string; data: Uint8Array }>> {
  const out: Array<{ name: string; data: Uint8Array }> = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    out.push({ name: relative(dir, full).split('\\').join('/'), data: new Uint8Array(await readFile(full)) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** An artifact holding the files below `dir` (or the given files). */
export async function artifactOf(dir: string | Record<string, string>, revision = 'test@sha1:0'): Promise<Artifact> {
  const files = typeof dir === 'string' ? Object.fromEntries((await filesOf(dir)).map((f) => [f.name, f.data])) : dir;
  return { source: 'test', revision, files: memoryFileTree(files) };
}

/** Runs the reference binary: `kustomize build <dir> ...args`, its stdout, or rejects with its stderr. */
export function kustomizeBuild(bin: string, dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['build', dir, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(stderr || err.message), { stderr }));
      else resolve(stdout);
    });
  });
}
