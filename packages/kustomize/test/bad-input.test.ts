import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError } from '@converge/core';
import { KustomizeEngine, KustomizeError, kustomize, type KustomizeErrorCode } from '../src/index.js';
import { bombFiles } from './helpers/bomb.js';
import { artifactOf } from './helpers/fixtures.js';

const engine = new KustomizeEngine();
afterAll(() => engine.close());

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

async function failure(files: Record<string, string>, options: Parameters<typeof kustomize>[0]): Promise<KustomizeError> {
  const err = await kustomize({ engine, ...options })({ artifact: await artifactOf(files) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KustomizeError);
  return err as KustomizeError;
}

function expectError(err: KustomizeError, code: KustomizeErrorCode, file: string | undefined, field?: string): void {
  expect(err.code, err.message).toBe(code);
  expect(err.file).toBe(file);
  if (field !== undefined) expect(err.field).toBe(field);
}

describe('bad input: typed errors naming the kustomization file and field', () => {
  it('a missing resource file is KUSTOMIZE_RESOURCE_NOT_FOUND in the kustomization naming it', async () => {
    const err = await failure(
      { 'base/kustomization.yaml': 'resources:\n- cm.yaml\n- nothere.yaml\n', 'base/cm.yaml': cm('x'), 'app/kustomization.yaml': 'resources:\n- ../base\n' },
      { path: 'app' },
    );
    expectError(err, 'KUSTOMIZE_RESOURCE_NOT_FOUND', 'base/kustomization.yaml', 'resources');
    expect(err.message).toContain('nothere.yaml');
    expect(err.message).not.toContain('/artifact');
  });

  it('a cycle between bases is KUSTOMIZE_CYCLE', async () => {
    const err = await failure({ 'a/kustomization.yaml': 'resources:\n- ../b\n', 'b/kustomization.yaml': 'resources:\n- ../a\n' }, { path: 'a' });
    expectError(err, 'KUSTOMIZE_CYCLE', 'b/kustomization.yaml');
    expect(err.message).toContain('cycle detected');
  });

  it('a strategic merge patch whose target is not there is KUSTOMIZE_PATCH_NO_MATCH', async () => {
    const err = await failure(
      {
        'kustomization.yaml': 'resources:\n- cm.yaml\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: ghost\n    spec:\n      replicas: 3\n',
        'cm.yaml': cm('x'),
      },
      {},
    );
    expectError(err, 'KUSTOMIZE_PATCH_NO_MATCH', 'kustomization.yaml', 'patches');
    expect(err.message).toContain('ghost');
  });

  it('an unknown field in kustomization.yaml is KUSTOMIZE_INVALID naming the field', async () => {
    const err = await failure({ 'k/kustomization.yaml': 'resources:\n- cm.yaml\nresourcez:\n- x\n', 'k/cm.yaml': cm('x') }, { path: 'k' });
    expectError(err, 'KUSTOMIZE_INVALID', 'k/kustomization.yaml', 'resourcez');
  });

  it.each([
    ['a base', 'resources:\n- ../../../../../etc\n'],
    ['a file', 'resources:\n- ../../../../../etc/passwd\n'],
    ['a generator file', 'configMapGenerator:\n- name: x\n  files:\n  - ../../../etc/hostname\n'],
  ])('%s that leaves the artifact is KUSTOMIZE_PATH_OUTSIDE_ARTIFACT, whatever the load restrictor', async (_what, k) => {
    for (const loadRestrictor of ['artifact', 'rootOnly'] as const) {
      const err = await failure({ 'app/overlay/kustomization.yaml': k }, { path: 'app/overlay', loadRestrictor });
      expectError(err, 'KUSTOMIZE_PATH_OUTSIDE_ARTIFACT', 'app/overlay/kustomization.yaml');
      expect(err.message).toContain('/etc');
    }
  });

  it("with loadRestrictor 'rootOnly' a file beside the kustomization's folder is KUSTOMIZE_LOAD_RESTRICTED; by default it loads", async () => {
    const files = { 'k/kustomization.yaml': 'resources:\n- ../other/cm.yaml\n', 'other/cm.yaml': cm('beside') };
    const err = await failure(files, { path: 'k', loadRestrictor: 'rootOnly' });
    expectError(err, 'KUSTOMIZE_LOAD_RESTRICTED', 'k/kustomization.yaml');
    const objects = await kustomize({ engine, path: 'k' })({ artifact: await artifactOf(files) });
    expect(objects.map((o) => o.metadata.name)).toEqual(['beside']);
  });

  it('a missing folder or kustomization is KUSTOMIZE_NOT_FOUND', async () => {
    expectError(await failure({ 'a/cm.yaml': cm('x') }, { path: 'nope' }), 'KUSTOMIZE_NOT_FOUND', undefined);
    expectError(await failure({ 'a/cm.yaml': cm('x') }, { path: 'a', generateKustomization: false }), 'KUSTOMIZE_NOT_FOUND', undefined);
  });

  it('a path option outside the artifact is refused before any build', () => {
    expect(() => kustomize({ path: '../x' })).toThrow(expect.objectContaining({ code: 'KUSTOMIZE_INVALID_OPTIONS' }));
  });
});

describe('bounds: output, memory, time', () => {
  it('an output bomb stops at maxOutputBytes with ENGINE_OUTPUT_LIMIT', async () => {
    const err = await failure(bombFiles(7, 1024), { path: 'l7', maxOutputBytes: 64 * 1024 });
    expect(err.code).toBe('ENGINE_OUTPUT_LIMIT');
    expect(err.data['limit']).toBe('maxOutputBytes');
    expect(err.message).toContain('maxOutputBytes');
  });

  it('a build that does not finish in timeoutMs is ENGINE_TIMEOUT; the engine process is replaced and the next build works', async () => {
    const err = await failure(bombFiles(16), { path: 'l16', timeoutMs: 300 });
    expect(err.code).toBe('ENGINE_TIMEOUT');
    const objects = await kustomize({ engine, path: 'l1' })({ artifact: await artifactOf(bombFiles(1)) });
    expect(objects.map((o) => o.metadata.name)).toEqual(['c-a', 'c-b']);
  });

  it('a build that needs more than maxMemoryBytes is ENGINE_MEMORY_LIMIT and the process survives', async () => {
    const err = await failure(bombFiles(6, 4 << 20), { path: 'l6', maxMemoryBytes: 128 * 1024 * 1024 });
    expect(err.code).toBe('ENGINE_MEMORY_LIMIT');
    const objects = await kustomize({ engine, path: 'l1' })({ artifact: await artifactOf(bombFiles(1)) });
    expect(objects).toHaveLength(2);
  });

  it('an aborted build rejects with AbortedError and the next build works', async () => {
    const controller = new AbortController();
    const pending = kustomize({ engine, path: 'l16' })({ artifact: await artifactOf(bombFiles(16)), signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(await kustomize({ engine, path: 'l1' })({ artifact: await artifactOf(bombFiles(1)) })).toHaveLength(2);
  });
});
