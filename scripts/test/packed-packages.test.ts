// The packages as a user gets them: every publishable package under packages/ is packed with
// `npm pack`, the tarballs are installed with their real dependencies from the npm registry
// into a scratch project in the OS temp dir (outside the workspace, so nothing resolves to the
// monorepo's node_modules), and there, under the repository's Node 24, the root README's first
// TypeScript example is type-checked and run, and every entry point is loaded with require().
// Needs the packages built (`npm test` builds them first) and the npm registry; when the
// registry cannot be reached the scratch tests are skipped and say so.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
/** The repository's Node 24 (the `node` devDependency), whatever node runs vitest. */
const node24 = join(root, 'node_modules/.bin/node');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Publishable workspace packages: every non-private packages/<dir>. */
const packages = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson<Manifest>(join(root, 'packages', dir, 'package.json')) }))
  .filter(({ manifest }) => !manifest.private);
const versions = new Map(packages.map(({ manifest }) => [manifest.name, manifest.version]));

/** The first breaking version after `version`: npm's caret treats 0.x minors as breaking. */
const nextBreaking = (version: string) => semver.inc(version, semver.major(version) === 0 ? 'minor' : 'major')!;

describe('dependencies between workspace packages', () => {
  const edges = packages.flatMap(({ dir, manifest }) =>
    (['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const).flatMap((field) =>
      Object.entries(manifest[field] ?? {})
        .filter(([name]) => versions.has(name))
        .map(([name, range]) => ({ from: manifest.name, dir, field, name, range, version: versions.get(name)! })),
    ),
  );

  it.each(edges)('$from $field $name@$range accepts the workspace version and no breaking one', ({ range, version }) => {
    expect(semver.satisfies(version, range), `${range} must accept ${version}`).toBe(true);
    expect(semver.satisfies(nextBreaking(version), range), `${range} must refuse ${nextBreaking(version)}`).toBe(false);
  });

  it.each(edges)('$from resolves $name to the workspace copy (npm install links it)', ({ dir, name }) => {
    const target = join(root, 'packages', packages.find((p) => p.manifest.name === name)!.dir);
    expect(realpathSync(join(root, 'node_modules', name))).toBe(target);
    expect(existsSync(join(root, 'packages', dir, 'node_modules', name)), `a registry copy of ${name} under packages/${dir}`).toBe(false);
  });
});

describe('package metadata a user sees on npm', () => {
  it.each(packages)('$manifest.name has README, LICENSE, repository, homepage, bugs, keywords', ({ dir, manifest }) => {
    const m = manifest as Manifest & Record<string, unknown>;
    expect(existsSync(join(root, 'packages', dir, 'README.md')), 'README.md').toBe(true);
    expect(existsSync(join(root, 'packages', dir, 'LICENSE')), 'LICENSE').toBe(true);
    expect(m['license']).toBe('Apache-2.0');
    expect(m['repository']).toMatchObject({ type: 'git', directory: `packages/${dir}` });
    expect(m['homepage']).toMatch(/^https:\/\//);
    expect(m['bugs']).toMatchObject({ url: expect.stringMatching(/^https:\/\//) });
    expect((m['keywords'] as string[] | undefined)?.length ?? 0).toBeGreaterThan(0);
  });

  it.each(packages)('$manifest.name README links work from the npm page (absolute or anchors)', ({ dir }) => {
    const file = join(root, 'packages', dir, 'README.md');
    expect(existsSync(file), 'README.md').toBe(true);
    const readme = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^(https?:|mailto:|#)/.test(href));
    expect(relative).toEqual([]);
  });

  it.each(packages)('$manifest.name exports have a default condition (require() on Node >= 22.12)', ({ manifest }) => {
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target === 'object' && target !== null) expect(Object.keys(target), subpath).toContain('default');
    }
  });
});

/** npm's environment without what `npm test` sets for its own project (prefix, workspace, package). */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm_|init_cwd$|node_options$)/i.test(key) || keep.has(key.toLowerCase())),
  );
  return { ...env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}` };
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(command, args, { cwd, env: npmEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stderr || stdout || error.message}`, { cause: error }));
      else done({ stdout, stderr });
    });
  });
}

async function registryUnreachable(): Promise<string | undefined> {
  try {
    await run('npm', ['ping', '--fetch-retries=0'], root, 20_000);
    return undefined;
  } catch (error) {
    const { stdout } = await run('npm', ['config', 'get', 'registry'], root, 10_000).catch(() => ({ stdout: 'the npm registry' }));
    return `npm registry unreachable (${stdout.trim()}): the scratch install needs the packages' real dependencies`;
  }
}

/** The root README's first TypeScript example, as a user would paste it. */
function readmeExample(): string {
  const match = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(root, 'README.md'), 'utf8'));
  if (!match?.[1]) throw new Error('README.md has no ```ts block');
  return match[1];
}

/** A known export per entry point; other entry points must export something. */
const EXPECTED_EXPORT: Record<string, string> = {
  '@converge/core': 'createReconciler',
  '@converge/core/testing': 'MemorySink',
  '@converge/git-source': 'gitSource',
  '@converge/git-source/testing': 'startGitServer',
  '@converge/kube-sink': 'kubeSink',
  '@converge/kube-testenv': 'startTestEnv',
  '@converge/helm-render': 'helmChart',
};
/** Entry points that load an optional peer dependency, not installed in the scratch project. */
const NEEDS_OPTIONAL_PEER: Record<string, string> = {
  '@converge/kube-testenv/vitest': 'vitest',
};

const skipReason = await registryUnreachable();

describe.runIf(packages.length > 0)('packed packages installed in a scratch project', () => {
  let work = '';
  let scratch = '';
  let entries: string[] = [];

  beforeAll(async () => {
    if (skipReason) return;
    const unbuilt = packages.filter(({ dir }) => !existsSync(join(root, 'packages', dir, 'dist')));
    if (unbuilt.length > 0) {
      throw new Error(`not built: ${unbuilt.map((p) => p.manifest.name).join(', ')}; run \`npx turbo run build\` first`);
    }
    work = mkdtempSync(join(tmpdir(), 'converge-scratch-'));
    const tarballs = join(work, 'tarballs');
    scratch = join(work, 'project');
    mkdirSync(tarballs);
    mkdirSync(scratch);

    const t0 = performance.now();
    const workspaces = packages.map(({ dir }) => `--workspace=packages/${dir}`);
    const packed = JSON.parse((await run('npm', ['pack', '--json', '--pack-destination', tarballs, ...workspaces], root, 300_000)).stdout) as {
      name: string;
      filename: string;
    }[];
    expect(packed.map((p) => p.name).sort()).toEqual([...versions.keys()].sort());

    const t1 = performance.now();
    const typesNode = readJson<Manifest>(join(root, 'package.json')).devDependencies?.['@types/node'] ?? 'latest';
    writeFileSync(join(scratch, 'package.json'), `${JSON.stringify({ name: 'scratch', private: true, type: 'module' }, null, 2)}\n`);
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...packed.map((p) => join(tarballs, p.filename)), `@types/node@${typesNode}`],
      scratch,
      480_000,
    );
    const t2 = performance.now();
    console.info(`packed ${packed.length} packages in ${((t1 - t0) / 1000).toFixed(1)} s, installed them in ${scratch} in ${((t2 - t1) / 1000).toFixed(1)} s`);

    entries = packed.flatMap(({ name }) => {
      const manifest = readJson<Manifest>(join(scratch, 'node_modules', name, 'package.json'));
      return Object.keys(manifest.exports ?? { '.': null })
        .filter((key) => key !== './package.json')
        .map((key) => (key === '.' ? name : `${name}/${key.slice(2)}`));
    });
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs the README example under Node 24', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    mkdirSync(join(scratch, 'deploy'));
    writeFileSync(
      join(scratch, 'deploy', 'web.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: hello\n',
    );
    writeFileSync(join(scratch, 'main.ts'), readmeExample());

    const { stdout } = await run(node24, ['main.ts'], scratch, 60_000);
    expect(stdout).toMatch(/^object\.applied .*kind: 'ConfigMap', name: 'web', namespace: 'shop'/m);
    expect(stdout).toMatch(/^succeeded \{ created: 1,/m);
  });

  it('type-checks the README example against the installed types', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    writeFileSync(join(scratch, 'example.ts'), readmeExample());
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          types: ['node'],
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['example.ts'],
      }),
    );
    await run(node24, [tsc, '-p', 'tsconfig.json'], scratch, 120_000);
  });

  it('loads every entry point with require() (require(esm), Node ≥ 22.12), the same module as import()', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    writeFileSync(
      join(scratch, 'smoke.cjs'),
      `'use strict';
(async () => {
  const out = [];
  for (const spec of ${JSON.stringify(entries)}) {
    try {
      const required = require(spec);
      const imported = await import(spec);
      // A module with a default export comes back wrapped with __esModule: true; its bindings are the same.
      const exports = Object.keys(imported);
      const same = exports.every((name) => required[name] === imported[name]);
      out.push({ spec, ok: true, file: require.resolve(spec), same, exports });
    } catch (error) {
      out.push({ spec, ok: false, code: error.code, message: String(error.message).split('\\n')[0] });
    }
  }
  console.log(JSON.stringify(out));
})();
`,
    );
    const { stdout } = await run(node24, ['smoke.cjs'], scratch, 60_000);
    const results = JSON.parse(stdout) as (
      | { spec: string; ok: true; file: string; same: boolean; exports: string[] }
      | { spec: string; ok: false; code?: string; message: string }
    )[];
    expect(results.map((r) => r.spec)).toEqual(entries);
    console.info(results.map((r) => `require('${r.spec}'): ${r.ok ? `${r.exports.length} exports, same as import()` : `${r.code}: ${r.message}`}`).join('\n'));

    for (const result of results) {
      const peer = NEEDS_OPTIONAL_PEER[result.spec];
      if (peer) {
        // Fails only for want of the peer, named in the error; users of this entry run vitest.
        expect(result, result.spec).toMatchObject({ ok: false, code: 'ERR_MODULE_NOT_FOUND' });
        expect(result.ok ? '' : result.message, result.spec).toContain(`'${peer}'`);
        continue;
      }
      expect(result, result.spec).toMatchObject({ ok: true, same: true });
      if (!result.ok) continue;
      expect(realpathSync(result.file).startsWith(realpathSync(scratch) + sep), `${result.spec} resolved outside the scratch project: ${result.file}`).toBe(true);
      expect(result.exports, result.spec).toContain(EXPECTED_EXPORT[result.spec] ?? result.exports[0]);
    }
  });
});
