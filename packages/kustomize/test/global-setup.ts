import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the kustomize binary built from engine/go.mod (scripts/build-kustomize.sh). */
    kustomizeBin: string;
    /** Path of the helm binary helm-render builds (for `kustomize build --enable-helm`). */
    helmBin: string;
  }
}

/**
 * Builds (or reuses from the cache outside the clone) the wasm engine, the reference kustomize
 * binary and helm-render's helm binary. Each script is a no-op when its inputs have not changed.
 */
export default function setup(project: TestProject): void {
  const run = (script: string) =>
    execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  run(join(pkg, 'scripts', 'build-wasm.sh'));
  const kustomizeBin = run(join(pkg, 'scripts', 'build-kustomize.sh'));
  const helmBin = process.env['CONVERGE_HELM_BIN'] ?? run(join(pkg, '..', 'helm-render', 'scripts', 'build-helm.sh'));
  for (const bin of [kustomizeBin, helmBin]) if (!existsSync(bin)) throw new Error(`binary not found at ${bin}`);
  project.provide('kustomizeBin', kustomizeBin);
  project.provide('helmBin', helmBin);
}
