import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Workspace {
  dir: string;
  name: string;
  deps: Set<string>;
}

function workspaces(folder: 'packages' | 'examples'): Workspace[] {
  return readdirSync(join(root, folder))
    .map((d) => join(root, folder, d))
    .filter((dir) => statSync(join(dir, 'package.json'), { throwIfNoEntry: false })?.isFile())
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: object; peerDependencies?: object; optionalDependencies?: object };
      return { dir, name: pkg.name, deps: new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies })) };
    });
}

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ts|mts|mjs|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(p);
    }
  };
  if (statSync(join(dir, 'src'), { throwIfNoEntry: false })?.isDirectory()) walk(join(dir, 'src'));
  return out;
}

/** `@converge/…` packages a source file imports (static and dynamic imports, re-exports). */
function convergeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](@converge\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g)) if (m[1]) names.add(m[1]);
  return [...names];
}

const packages = workspaces('packages');
const examples = workspaces('examples');

describe('dependencies point one way (CONTRIBUTING.md)', () => {
  it('core imports no other Converge package', () => {
    const core = packages.find((p) => p.name === '@converge/core')!;
    const offenders = sources(core.dir).flatMap((f) => convergeImports(f).filter((n) => n !== '@converge/core').map((n) => `${relative(root, f)} imports ${n}`));
    expect(offenders).toEqual([]);
  });

  it('a package imports only Converge packages it declares as dependencies, and never an example', () => {
    const exampleNames = new Set(examples.map((e) => e.name));
    const offenders: string[] = [];
    for (const pkg of packages) {
      for (const file of sources(pkg.dir)) {
        for (const name of convergeImports(file)) {
          if (name === pkg.name) continue;
          if (exampleNames.has(name)) offenders.push(`${relative(root, file)} imports the example ${name}`);
          else if (!pkg.deps.has(name)) offenders.push(`${relative(root, file)} imports ${name}, which ${pkg.name} does not declare`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the package graph has no cycle', () => {
    const graph = new Map(packages.map((p) => [p.name, [...p.deps].filter((d) => d.startsWith('@converge/'))]));
    const cycles: string[] = [];
    const visit = (name: string, path: string[]): void => {
      if (path.includes(name)) {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' → '));
        return;
      }
      for (const dep of graph.get(name) ?? []) visit(dep, [...path, name]);
    };
    for (const name of graph.keys()) visit(name, []);
    expect(cycles).toEqual([]);
  });

  it('no example imports another example: what examples share is a package', () => {
    const offenders: string[] = [];
    for (const ex of examples) {
      for (const file of sources(ex.dir)) {
        for (const name of convergeImports(file)) {
          if (name.startsWith('@converge/example-') && name !== ex.name) offenders.push(`${relative(root, file)} imports ${name}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the CONTRIBUTING.md map names every package, and draws an arrow for each of its Converge dependencies', () => {
    const contributing = readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8');
    const missing = packages.filter((p) => !contributing.includes(`${relative(root, p.dir)} `) || !contributing.includes(p.name)).map((p) => p.name);
    expect(missing).toEqual([]);
    // The graph below the map lists each package's Converge dependencies as `name → dep, dep`.
    const drawn = new Map(
      [...contributing.matchAll(/^\s*([a-z0-9-]+) → (.+)$/gm)].map((m) => [`@converge/${m[1]}`, new Set(m[2]!.split(',').map((d) => `@converge/${d.trim()}`))]),
    );
    const wrong = packages.flatMap((p) => {
      const actual = [...p.deps].filter((d) => d.startsWith('@converge/')).sort();
      const shown = [...(drawn.get(p.name) ?? [])].sort();
      return actual.join() === shown.join() ? [] : [`${p.name}: depends on [${actual.join(', ')}], the map shows [${shown.join(', ')}]`];
    });
    expect(wrong).toEqual([]);
  });
});
