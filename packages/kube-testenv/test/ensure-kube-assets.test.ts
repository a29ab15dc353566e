import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeAssetsVersion } from '../src/assets.js';
import { ensureKubeAssets } from '../src/ensure-kube-assets.js';

const fakeGo = fileURLToPath(new URL('./fixtures/fake-go.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kt-ensure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ensureKubeAssets', () => {
  it('builds missing binaries into the cache with the package script, reporting progress, then reuses them', async () => {
    const env = { ...process.env, CONVERGE_KUBE_ASSETS_DIR: join(dir, 'cache'), KUBEBUILDER_ASSETS: '', GO: fakeGo };
    const lines: string[] = [];
    const assets = await ensureKubeAssets({ env, onOutput: (line) => lines.push(line) });
    expect(assets).toMatchObject({ origin: 'cache', dir: join(dir, 'cache', await kubeAssetsVersion()) });
    expect(existsSync(assets.kubeApiserver)).toBe(true);
    expect(lines.some((l) => /built kube-apiserver/.test(l))).toBe(true);

    lines.length = 0;
    await ensureKubeAssets({ env, onOutput: (line) => lines.push(line) });
    expect(lines).toEqual([]);
  });

  it('never builds over binaries the user pointed to: a KUBEBUILDER_ASSETS without them is an error', async () => {
    const empty = join(dir, 'envtest');
    mkdirSync(empty);
    const env = { ...process.env, CONVERGE_KUBE_ASSETS_DIR: join(dir, 'untouched'), KUBEBUILDER_ASSETS: empty, GO: fakeGo };
    await expect(ensureKubeAssets({ env })).rejects.toMatchObject({ code: 'KUBE_ASSETS_NOT_FOUND' });
    expect(existsSync(join(dir, 'untouched'))).toBe(false);
  });
});
