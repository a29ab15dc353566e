import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder of the `@converge/helm-render` package (the one holding `wasm/`),
 * found from this module whether it runs from `src/` (tests) or from the bundle in `dist/`.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'build-wasm.sh')) || existsSync(join(dir, 'wasm', 'wasm_exec.js'))) return (root = dir);
    dir = dirname(dir);
  }
  throw new Error(`@converge/helm-render: cannot find the package folder from ${fileURLToPath(import.meta.url)}`);
}
