import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the helm binary built from engine/go.mod (scripts/build-helm.sh). */
    helmBin: string;
  }
}

/**
 * Builds (or reuses from the cache outside the clone) the wasm engine and the helm binary.
 * Both scripts are no-ops when their inputs have not changed; CI runs them before vitest.
 */
export default function setup(project: TestProject): void {
  const run = (script: string) =>
    execFileSync('bash', [join(pkg, 'scripts', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  run('build-wasm.sh');
  const helmBin = process.env['CONVERGE_HELM_BIN'] ?? run('build-helm.sh').split('\n').pop()!;
  if (!existsSync(helmBin)) throw new Error(`helm binary not found at ${helmBin}`);
  project.provide('helmBin', helmBin);
}
