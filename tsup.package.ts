// The one tsup build of every package under packages/: each package's tsup.config.ts calls
// packageBuild() with its entries, so format, target, declarations and source maps cannot drift
// between packages. turbo.json lists this file in globalDependencies: a change here rebuilds all.
import type { Options } from 'tsup';

/** What differs between packages' builds. */
export interface PackageBuildOptions {
  /** Output name (without `.js`, under dist/) → source file, one per entry of package.json `exports`. */
  entry: Record<string, string>;
  /** Imports left as imports instead of bundled (e.g. an optional peer dependency). @default none */
  external?: string[];
}

/** ESM for Node 22 with `.d.ts` and source maps; dist/ is emptied first. */
export function packageBuild(o: PackageBuildOptions): Options {
  return {
    entry: o.entry,
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node22',
    ...(o.external ? { external: o.external } : {}),
  };
}
