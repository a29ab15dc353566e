// The pull agent's image (examples/pull-agent/Dockerfile) cannot be built here (no Docker), so
// what its build stage deletes before the runtime stage copies the tree is checked against
// what the packages need at run time: every path a package ships (its package.json `files`)
// and the agent's own sources. A rename such as wasm-host's engine process moving into a
// folder whose name the prune pattern also matches would otherwise break only the image.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(root, 'examples/pull-agent/Dockerfile'), 'utf8');

/** The `rm -rf` arguments of the build stage, e.g. `packages/*\/src`. */
function prunedPatterns(): string[] {
  const run = dockerfile.replace(/\\\n/g, ' ');
  const rm = /rm -rf ([^&\n]+)/.exec(run)?.[1];
  if (!rm) throw new Error('the Dockerfile has no rm -rf step');
  return rm.trim().split(/\s+/);
}

/** Whether `path` (relative to the repository) is `pattern` or inside it; `*` matches one path segment. */
function removedBy(pattern: string, path: string): boolean {
  const p = pattern.split('/');
  const segments = path.split('/');
  return segments.length >= p.length && p.every((part, i) => part === '*' || part === segments[i]);
}

/** Every workspace folder under `folder` with the `files` its package.json ships. */
function shipped(folder: 'packages' | 'examples'): { dir: string; files: string[] }[] {
  return readdirSync(join(root, folder))
    .filter((d) => existsSync(join(root, folder, d, 'package.json')))
    .map((d) => {
      const pkg = JSON.parse(readFileSync(join(root, folder, d, 'package.json'), 'utf8')) as { files?: string[] };
      return { dir: `${folder}/${d}`, files: pkg.files ?? [] };
    });
}

describe("the pull agent's image", () => {
  const patterns = prunedPatterns();

  it('keeps every path a package ships', () => {
    const removed = shipped('packages').flatMap(({ dir, files }) =>
      files.map((file) => `${dir}/${file.replace(/\/$/, '')}`).filter((path) => patterns.some((pattern) => removedBy(pattern, path))),
    );
    expect(removed).toEqual([]);
  });

  it('copies into the runtime stage only paths that exist and are kept, and runs an entry point among them', () => {
    const copied = [...dockerfile.matchAll(/^COPY --from=build \S* ?\/src\/(\S+) /gm)].map((m) => m[1]!);
    expect(copied).toContain('packages');
    expect(copied.filter((path) => !existsSync(join(root, path)))).toEqual([]);
    expect(copied.filter((path) => patterns.some((pattern) => removedBy(pattern, path)))).toEqual([]);
    const entry = /ENTRYPOINT \["node", "([^"]+)"\]/.exec(dockerfile)?.[1];
    expect(entry).toBe('examples/pull-agent/src/main.ts');
    expect(existsSync(join(root, entry!))).toBe(true);
    expect(copied.some((path) => entry!.startsWith(`${path}/`))).toBe(true);
    expect(patterns.filter((pattern) => removedBy(pattern, entry!))).toEqual([]);
  });

  it('the check itself sees a shipped folder the prune would remove', () => {
    expect(removedBy('packages/*/engine', 'packages/wasm-host/engine')).toBe(true);
    expect(removedBy('packages/*/engine', 'packages/wasm-host/child')).toBe(false);
  });
});
