import { createReconciler, yamlFiles, type KubeObject, type ReconcileEvent } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { imagePolicy, type ImageViolation } from '../src/image-policy.ts';

const deployment = (name: string, ...images: string[]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'shop' },
  spec: { template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } },
});
const policy = imagePolicy({ allowedRegistries: ['registry.example.com', 'docker.io'] });
const check = (...objects: KubeObject[]) => policy.check(objects, { revision: 'r1' });

describe('imagePolicy', () => {
  it('lets pinned images from allowed registries through, Docker Hub short names included', async () => {
    expect(await check(deployment('api', 'registry.example.com/shop/api:1.4.2', 'nginx:1.27', 'docker.io/library/redis:7'))).toEqual({ ok: true });
  });

  it('blocks an image from another registry, naming it and the objects that run it', async () => {
    const verdict = await check(deployment('api', 'ghcr.io/someone/api:1.0'), deployment('worker', 'ghcr.io/someone/api:1.0'));
    expect(verdict).toEqual({
      ok: false,
      message:
        '1 image(s) at r1 break the image policy: ghcr.io/someone/api:1.0 (Deployment.apps shop/api, Deployment.apps shop/worker): ' +
        'registry ghcr.io is not allowed (allowed: registry.example.com, registry-1.docker.io)',
      data: { retryable: false, violations: [expect.objectContaining({ image: 'ghcr.io/someone/api:1.0' })] },
    });
  });

  it('blocks :latest and untagged images unless a digest pins them', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const verdict = await check(deployment('api', 'registry.example.com/api:latest', 'registry.example.com/api', `registry.example.com/api:latest@${digest}`));
    expect(verdict.ok).toBe(false);
    const violations = (verdict.ok ? [] : verdict.data?.['violations']) as ImageViolation[];
    expect(violations.map((v) => [v.image, v.reason])).toEqual([
      ['registry.example.com/api:latest', 'unpinned: give it a version tag or a digest instead of latest'],
      ['registry.example.com/api', 'unpinned: give it a version tag or a digest instead of latest'],
    ]);
    expect(await imagePolicy({ allowedRegistries: ['registry.example.com'], forbidLatest: false }).check([deployment('api', 'registry.example.com/api')], { revision: 'r1' })).toEqual({ ok: true });
  });

  it('counts an invalid reference as a violation instead of failing, and lists five in the message', async () => {
    const images = ['registry.example.com/API:1', ...Array.from({ length: 6 }, (_, i) => `quay.io/x/app${i}:1`)];
    const verdict = await check(deployment('api', ...images));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.message).toContain('registry.example.com/API:1 (Deployment.apps shop/api): not a valid image reference');
    expect(verdict.message).toMatch(/^7 image\(s\) .*; and 2 more$/);
    expect(verdict.data?.['violations']).toHaveLength(7);
  });

  it('holds a reconciler back before anything is written, with a gate.blocked event, until the revision is fixed', async () => {
    const manifest = (image: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: api, namespace: shop }\nspec: { template: { spec: { containers: [{ name: api, image: "${image}" }] } } }\n`;
    const source = memorySource({ 'api.yaml': manifest('registry.example.com/api:latest') });
    const sink = new MemorySink();
    const r = createReconciler({ name: 'shop', source, render: yamlFiles(), sink, gates: [policy] });
    const events: ReconcileEvent[] = [];
    r.on('gate.blocked', (e) => events.push(e));

    const blocked = await r.reconcile();
    expect(blocked.error).toMatchObject({ code: 'GATE_BLOCKED', retryable: false, data: { gate: 'image-policy' } });
    expect(blocked.error?.message).toMatch(/^gate image-policy: 1 image\(s\) at r1 break the image policy: registry\.example\.com\/api:latest/);
    expect(events).toEqual([expect.objectContaining({ type: 'gate.blocked', gate: 'image-policy' })]);
    expect(sink.writes).toBe(0);

    source.write('api.yaml', manifest('registry.example.com/api:1.4.2'));
    expect(await r.reconcile()).toMatchObject({ status: 'succeeded', counts: { created: 1 } });
  });
});
