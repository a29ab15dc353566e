import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the reference sops binary built from sops-module/go.mod (scripts/build-sops.sh). */
    sopsBin: string;
  }
}

/** Builds (or reuses from the cache outside the clone) the reference sops binary. */
export default function setup(project: TestProject): void {
  const sopsBin = execFileSync('bash', [join(pkg, 'scripts', 'build-sops.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .pop()!;
  if (!existsSync(sopsBin)) throw new Error(`sops binary not found at ${sopsBin}`);
  project.provide('sopsBin', sopsBin);
}
