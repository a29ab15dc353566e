import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConvergeError } from '@converge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeAssetsCacheDir, kubeAssetsVersion, locateKubeAssets } from '../src/assets.js';
import { KubeAssetsNotFoundError } from '../src/errors.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../scripts/build-assets.sh', import.meta.url));
const fakeGo = fileURLToPath(new URL('./fixtures/fake-go.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kt-assets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeAssets(name: string, bins: string[]): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const b of bins) {
    writeFileSync(join(d, b), '#!/bin/sh\n');
    chmodSync(join(d, b), 0o755);
  }
  return d;
}

describe('locateKubeAssets', () => {
  it('reads the Kubernetes version from the wrapper module', async () => {
    expect(await kubeAssetsVersion()).toMatch(/^v1\.3\d\.\d+$/);
  });

  it('uses KUBEBUILDER_ASSETS before the cache', async () => {
    const d = fakeAssets('envtest', ['etcd', 'kube-apiserver']);
    const assets = await locateKubeAssets({ env: { KUBEBUILDER_ASSETS: d, HOME: dir } });
    expect(assets).toEqual({ dir: d, etcd: join(d, 'etcd'), kubeApiserver: join(d, 'kube-apiserver'), origin: 'KUBEBUILDER_ASSETS' });
  });

  it('finds the cache dir keyed by version, with kubectl when present', async () => {
    const version = await kubeAssetsVersion();
    const env = { XDG_CACHE_HOME: join(dir, 'xdg') };
    const d = kubeAssetsCacheDir(version, env);
    expect(d).toBe(join(dir, 'xdg', 'converge', 'kube-assets', version));
    mkdirSync(d, { recursive: true });
    fakeAssets(join('xdg', 'converge', 'kube-assets', version), ['etcd', 'kube-apiserver', 'kubectl']);
    const assets = await locateKubeAssets({ env });
    expect(assets.origin).toBe('cache');
    expect(assets.kubectl).toBe(join(d, 'kubectl'));
  });

  it('throws a typed error that names the missing binary and the build command', async () => {
    const d = fakeAssets('half', ['etcd']);
    const error = await locateKubeAssets({ assetsDir: d }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeAssetsNotFoundError);
    expect(error).toBeInstanceOf(ConvergeError);
    expect((error as KubeAssetsNotFoundError).code).toBe('KUBE_ASSETS_NOT_FOUND');
    expect((error as Error).message).toMatch(/no executable kube-apiserver in .*half/);
    expect((error as Error).message).toContain('scripts/build-assets.sh');
    expect((error as Error).message).toContain('KUBEBUILDER_ASSETS');
  });
});

describe('build-assets.sh', () => {
  it('skips the build when KUBEBUILDER_ASSETS is set', async () => {
    const d = fakeAssets('skip', ['etcd', 'kube-apiserver']);
    const { stderr } = await run('bash', [script], { env: { ...process.env, KUBEBUILDER_ASSETS: d } });
    expect(stderr).toContain('KUBEBUILDER_ASSETS is set');
  });

  it('refuses a KUBEBUILDER_ASSETS without the binaries', async () => {
    const d = fakeAssets('empty', []);
    const error = (await run('bash', [script], { env: { ...process.env, KUBEBUILDER_ASSETS: d } }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("no executable 'etcd'");
  });

  it('is a no-op when the cache is filled', async () => {
    const version = await kubeAssetsVersion();
    const root = join(dir, 'cache-root');
    fakeAssets(join('cache-root', version), ['etcd', 'kube-apiserver', 'kubectl']);
    const env = { ...process.env, CONVERGE_KUBE_ASSETS_DIR: root, KUBEBUILDER_ASSETS: '' };
    const { stderr } = await run('bash', [script], { env });
    expect(stderr).toContain(`reusing cached assets for kubernetes ${version}`);
    const { stdout } = await run('bash', [script, '--print-dir'], { env });
    expect(stdout.trim()).toBe(join(root, version));
  });

  it('publishes the cache atomically: a build killed midway leaves nothing behind, a finished one all binaries', async () => {
    const version = await kubeAssetsVersion();
    const root = join(dir, 'atomic');
    const env = { ...process.env, CONVERGE_KUBE_ASSETS_DIR: root, KUBEBUILDER_ASSETS: '', GO: fakeGo };

    const child = spawn('bash', [script], { env: { ...env, FAKE_GO_HANG: 'kube-apiserver' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Kill it while kube-apiserver is half written into the build's temp dir.
    const partial = () => existsSync(root) && readdirSync(root).some((f) => f.startsWith('.tmp-') && existsSync(join(root, f, 'kube-apiserver')));
    while (!partial()) await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toContain('built etcd');
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    expect(existsSync(join(root, version))).toBe(false);
    expect(readdirSync(root).filter((f) => f.startsWith('.tmp-'))).toEqual([]);

    const { stderr: out } = await run('bash', [script], { env });
    expect(out).toMatch(/built kubectl in \d+s/);
    expect(readdirSync(join(root, version)).sort()).toEqual(['VERSIONS', 'etcd', 'kube-apiserver', 'kubectl']);
    const again = await run('bash', [script], { env });
    expect(again.stderr).toContain('reusing cached assets');
  });
});
