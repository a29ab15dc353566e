import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/fixtures.js';

// Acceptance: a user without Go or a kustomize binary installs the package and renders an
// overlay. Packs @converge/kustomize and the workspace packages it depends on as npm would
// publish them, installs them into an empty project outside the repository, and renders with
// PATH holding only node.

const pkg = join(import.meta.dirname, '..');
const packages = ['core', 'oci', 'wasm-host', 'git-source', 'helm-render'].map((p) => join(pkg, '..', p)).concat(pkg);
const built = packages.every((p) => existsSync(join(p, 'dist', 'index.js'))) && existsSync(join(pkg, 'wasm', 'kustomize-engine.wasm'));
const dir = mkdtempSync(join(tmpdir(), 'kustomize-user-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)('the published package', () => {
  it('renders an overlay after npm install, with no Go, kustomize, git or helm on PATH', { timeout: 300_000 }, () => {
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const packed = packages.map((p) => join(dir, (JSON.parse(npm(['pack', '--json', '--pack-destination', dir], p)) as { filename: string }[])[0]!.filename));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user', private: true, type: 'module' }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed], dir);
    cpSync(join(FIXTURES, 'corpus', 'app'), join(dir, 'deploy'), { recursive: true });
    writeFileSync(
      join(dir, 'render.mjs'),
      `import { directorySource } from '@converge/core';
import { kustomize } from '@converge/kustomize';
const artifact = await directorySource('deploy').fetch();
const objects = await kustomize({ path: 'overlays/production' })({ artifact });
console.log(objects.map((o) => o.kind + '/' + o.metadata.namespace + '/' + o.metadata.name).join(','));
`,
    );
    const out = execFileSync(process.execPath, ['render.mjs'], { cwd: dir, encoding: 'utf8', env: { PATH: dirname(process.execPath), HOME: dir } });
    expect(out.trim().split(',')).toEqual(expect.arrayContaining(['Deployment/production/prod-web', 'PodDisruptionBudget/production/prod-web']));
  });
});
