import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the reference oras binary built from oras-module/go.mod (scripts/build-oras.sh). */
    orasBin: string;
    /** Path of the reference cosign binary built from cosign-module/go.mod (scripts/build-cosign.sh). */
    cosignBin: string;
  }
}

/** Builds (or reuses from the cache outside the clone) the test registry and the reference oras and cosign binaries. */
export default function setup(project: TestProject): void {
  const build = (script: string) =>
    execFileSync('bash', [join(pkg, 'scripts', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      .trim()
      .split('\n')
      .pop()!;
  build('build-registry.sh');
  const orasBin = build('build-oras.sh');
  if (!existsSync(orasBin)) throw new Error(`oras binary not found at ${orasBin}`);
  project.provide('orasBin', orasBin);
  const cosignBin = build('build-cosign.sh');
  if (!existsSync(cosignBin)) throw new Error(`cosign binary not found at ${cosignBin}`);
  project.provide('cosignBin', cosignBin);
}
