import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KustomizeEngine, type BuildRequest } from '../src/index.js';
import { FIXTURES, filesOf, kustomizeBuild } from './helpers/fixtures.js';

// The wasm engine must print exactly what `kustomize build` prints, byte for byte, for the
// same folder and flags. The binary is built from the same Go module (engine/go.mod, same
// sigs.k8s.io/kustomize/api) by scripts/build-kustomize.sh.

const engine = new KustomizeEngine();
afterAll(() => engine.close());
const bin = inject('kustomizeBin');
const limits = { maxMemoryBytes: 512 << 20, maxOutputBytes: 64 << 20, timeoutMs: 60_000 };

interface Case {
  /** The artifact root, under test/fixtures. */
  root: string;
  /** The kustomization folder in it. */
  path: string;
  /** `--load-restrictor LoadRestrictionsNone` for the binary, `'none'` for the engine. */
  loadNone?: boolean;
  reorder?: 'legacy' | 'none';
}

const corpus: Case[] = [
  { root: 'corpus', path: 'app/base' },
  { root: 'corpus', path: 'app/overlays/staging' },
  { root: 'corpus', path: 'app/overlays/production' },
  { root: 'corpus', path: 'app/overlays/production', reorder: 'none' },
  { root: 'corpus', path: 'app/overlays/production', reorder: 'legacy' },
  { root: 'corpus', path: 'replacements' },
  { root: 'corpus', path: 'legacy-fields' },
  { root: 'corpus', path: 'openapi' },
  { root: 'corpus', path: 'sort-fifo' },
  { root: 'corpus', path: 'generators' },
  { root: 'corpus', path: 'load-none/overlay', loadNone: true },
];

const upstream: Case[] = [
  { root: 'upstream/kustomize-examples', path: 'helloWorld' },
  { root: 'upstream/kustomize-examples', path: 'multibases' },
  { root: 'upstream/kustomize-examples', path: 'multibases/production' },
  { root: 'upstream/kustomize-examples', path: 'ldap/overlays/staging' },
  { root: 'upstream/kustomize-examples', path: 'ldap/overlays/production' },
  { root: 'upstream/kustomize-examples', path: 'springboot/overlays/staging' },
  { root: 'upstream/kustomize-examples', path: 'springboot/overlays/production' },
  { root: 'upstream/kustomize-examples', path: 'wordpress' },
  { root: 'upstream/kustomize-examples', path: 'transformerconfigs/crd' },
  { root: 'upstream/flux2-kustomize-helm-example', path: 'apps/staging' },
  { root: 'upstream/flux2-kustomize-helm-example', path: 'apps/production' },
  { root: 'upstream/flux2-kustomize-helm-example', path: 'infrastructure/configs' },
  { root: 'upstream/flux2-kustomize-helm-example', path: 'infrastructure/controllers' },
  { root: 'upstream/argocd-example-apps', path: 'kustomize-guestbook' },
  { root: 'upstream/argocd-example-apps', path: 'pre-post-sync' },
  { root: 'upstream/argocd-example-apps', path: 'sock-shop' },
];

async function both(c: Case): Promise<{ wasm: string; binary: string }> {
  const root = join(FIXTURES, c.root);
  const args = [...(c.loadNone ? ['--load-restrictor', 'LoadRestrictionsNone'] : []), ...(c.reorder ? ['--reorder', c.reorder] : [])];
  const request: BuildRequest = {
    files: await filesOf(root),
    path: c.path,
    loadRestrictor: c.loadNone ? 'none' : 'rootOnly',
    reorder: c.reorder ?? '',
    generateKustomization: false,
    enableHelm: false,
    limits,
  };
  const [binary, wasm] = await Promise.all([kustomizeBuild(bin, join(root, c.path), args), engine.build(request).then((o) => o.yaml)]);
  return { wasm, binary };
}

const label = (c: Case) => `${c.root}/${c.path}${c.loadNone ? ' (LoadRestrictionsNone)' : ''}${c.reorder ? ` (--reorder ${c.reorder})` : ''}`;

describe('wasm engine = kustomize binary, byte for byte', () => {
  it.each(corpus)('corpus: $path', async (c) => {
    const { wasm, binary } = await both(c);
    expect(binary.length, label(c)).toBeGreaterThan(0);
    expect(wasm, label(c)).toBe(binary);
  });

  it.each(upstream)('upstream: $root/$path', async (c) => {
    const { wasm, binary } = await both(c);
    expect(binary.length, label(c)).toBeGreaterThan(0);
    expect(wasm, label(c)).toBe(binary);
  });
});
