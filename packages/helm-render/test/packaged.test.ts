import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtures } from './helpers/charts.js';

// Acceptance: a user with no Go and no helm installs the package and renders a chart.
// Packs @converge/core, @converge/oci, @converge/wasm-host and @converge/helm-render as npm would publish them, installs them
// into an empty project outside the repository, and renders with PATH holding only node.

const pkg = join(import.meta.dirname, '..');
const core = join(pkg, '..', 'core');
const wasmHost = join(pkg, '..', 'wasm-host');
const oci = join(pkg, '..', 'oci');
const built = [pkg, core, oci, wasmHost].every((p) => existsSync(join(p, 'dist', 'index.js')));
const dir = mkdtempSync(join(tmpdir(), 'helm-render-user-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)('the published package', () => {
  it('renders a chart after npm install, with no Go and no helm on PATH', { timeout: 240_000 }, () => {
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const packed = [core, oci, wasmHost, pkg].map((p) => join(dir, (JSON.parse(npm(['pack', '--json', '--pack-destination', dir], p)) as { filename: string }[])[0]!.filename));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user', private: true, type: 'module' }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed], dir);
    cpSync(join(fixtures, 'charts', 'umbrella'), join(dir, 'deploy', 'umbrella'), { recursive: true });
    writeFileSync(
      join(dir, 'render.mjs'),
      `import { directorySource } from '@converge/core';
import { helmChart } from '@converge/helm-render';
const artifact = await directorySource('deploy').fetch();
const objects = await helmChart({ chart: 'umbrella', releaseName: 'shop', kubeVersion: '1.33.0' })({ artifact });
console.log(objects.map((o) => o.kind + '/' + o.metadata.name).join(','));
`,
    );
    const out = execFileSync(process.execPath, ['render.mjs'], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: dirname(process.execPath), HOME: dir },
    });
    expect(out.trim().split(',')).toEqual(
      expect.arrayContaining(['ConfigMap/shop-umbrella', 'Deployment/shop-frontend', 'StatefulSet/shop-api', 'Secret/shop-api']),
    );
  });
});
