import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Source } from '@converge/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, REVISION_ANNOTATION, SOURCE_ANNOTATION } from '../src/artifact-media-types.js';
import { ociSource } from '../src/oci-source.js';
import { pushArtifact } from '../src/push-artifact.js';
import { startRegistry, type TestRegistry } from '../src/testing/registry-server.js';

// The independent side of each round trip is the reference `oras` CLI (built from its Go
// module by scripts/build-oras.sh) and GNU tar.
const oras = (args: string[], cwd?: string) =>
  execFileSync(inject('orasBin'), [...args, '--plain-http'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...(cwd && { cwd }) });

function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return out;
}

async function filesOf(source: Source): Promise<Record<string, string>> {
  const artifact = await source.fetch();
  const out: Record<string, string> = {};
  for (const path of await artifact.files.list()) out[path] = Buffer.from(await artifact.files.read(path)).toString('utf8');
  return out;
}

const files = {
  'kustomization.yaml': 'resources:\n  - apps/web.yaml\n',
  'apps/web.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: "hello, oras"\n',
};

describe('artifacts against the oras CLI', () => {
  let registry: TestRegistry;
  let dir: string;
  let content: string;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'converge-oras-'));
    content = join(dir, 'content');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(content, path, '..'), { recursive: true });
      writeFileSync(join(content, path), text);
    }
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads an artifact oras pushed in Flux format (tar.gz made by GNU tar)', async () => {
    const work = join(dir, 'flux-format');
    mkdirSync(work);
    execFileSync('tar', ['-czf', join(work, 'layer.tgz'), '-C', content, '.']);
    writeFileSync(join(work, 'config.json'), '{}');
    oras(
      ['push', `${registry.host}/oras/flux:v1`, '--config', `config.json:${FLUX_CONFIG_MEDIA_TYPE}`, `layer.tgz:${FLUX_CONTENT_MEDIA_TYPE}`, '--annotation', `${REVISION_ANNOTATION}=main@sha1:0123`],
      work,
    );
    const source = ociSource({ url: `oci://${registry.host}/oras/flux`, ref: { tag: 'v1' }, insecure: true });
    const digest = JSON.parse(oras(['manifest', 'fetch', '--descriptor', `${registry.host}/oras/flux:v1`])).digest as string;
    await expect(source.latestRevision()).resolves.toBe(`v1@${digest}`);
    expect(await filesOf(source)).toEqual(files);
  });

  it('reads a folder oras pushed as its own tar.gz layer', async () => {
    oras(['push', `${registry.host}/oras/folder:v1`, 'content'], dir);
    expect(await filesOf(ociSource({ url: `oci://${registry.host}/oras/folder`, ref: { tag: 'v1' }, insecure: true, path: 'content' }))).toEqual(files);
  });

  it('pushes what oras reads back: Flux media types, annotations, and a layer GNU tar unpacks to the same files', async () => {
    const pushed = await pushArtifact({
      url: `oci://${registry.host}/converge/pushed:main`,
      dir: content,
      insecure: true,
      source: 'https://git.example/acme/deploy',
      revision: 'main@sha1:4e5f',
    });
    const manifest = JSON.parse(oras(['manifest', 'fetch', `${registry.host}/converge/pushed:main`])) as {
      config: { mediaType: string };
      layers: { mediaType: string; digest: string }[];
      annotations: Record<string, string>;
    };
    expect(JSON.parse(oras(['manifest', 'fetch', '--descriptor', `${registry.host}/converge/pushed:main`])).digest).toBe(pushed.digest);
    expect(manifest.config.mediaType).toBe(FLUX_CONFIG_MEDIA_TYPE);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([FLUX_CONTENT_MEDIA_TYPE]);
    expect(manifest.annotations).toMatchObject({ [SOURCE_ANNOTATION]: 'https://git.example/acme/deploy', [REVISION_ANNOTATION]: 'main@sha1:4e5f' });

    const out = join(dir, 'pulled');
    mkdirSync(out);
    oras(['blob', 'fetch', `${registry.host}/converge/pushed@${manifest.layers[0]!.digest}`, '--output', join(dir, 'pulled.tgz')]);
    execFileSync('tar', ['-xzf', join(dir, 'pulled.tgz'), '-C', out]);
    expect(readTree(out)).toEqual(files);
  });
});
