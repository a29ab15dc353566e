import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryFileTree } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { pushArtifact } from '@converge/oci';
import { startRegistry } from '@converge/oci/testing';
import { createFleet, type AppSpec } from '@converge/fleet';
import { afterEach, describe, expect, it } from 'vitest';
import { appFactory, parseGitAppSpec } from '../src/index.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

const at = { file: 'apps/shop.yaml' };
const spec = (fields: Partial<AppSpec>): AppSpec => ({ name: 'shop', ...fields });

describe('parseGitAppSpec', () => {
  it('types source and render, with plain YAML by default', () => {
    expect(parseGitAppSpec(spec({ source: { url: 'https://git.example/shop.git', ref: { tag: 'v1' }, path: 'deploy' } }), at)).toMatchObject({
      source: { url: 'https://git.example/shop.git', ref: { tag: 'v1' }, path: 'deploy' },
      render: { type: 'yaml' },
    });
    expect(parseGitAppSpec(spec({ render: { type: 'helm', chart: 'chart', values: { replicas: 2 }, valuesFiles: ['prod.yaml'] } }), at).render).toEqual({
      type: 'helm',
      chart: 'chart',
      values: { replicas: 2 },
      valuesFiles: ['prod.yaml'],
    });
  });

  it.each([
    [{ source: { url: 3 } }, 'apps/shop.yaml: source.url must be a non-empty string'],
    [{ source: { url: 'u', dir: 'd' } }, 'apps/shop.yaml: source names both url and dir; give one'],
    [{ source: { url: 'u', ref: { branch: 'main', tag: 'v1' } } }, 'apps/shop.yaml: source.ref must set exactly one of branch, tag, semver, commit, name (got branch, tag)'],
    [{ render: { type: 'helm' } }, 'apps/shop.yaml: render.chart is required for type helm'],
    [{ render: { type: 'jsonnet' } }, 'apps/shop.yaml: unknown render.type "jsonnet" (use yaml or helm)'],
    [{ render: { type: 'helm', chart: 'c', valuesFiles: 'prod.yaml' } }, 'apps/shop.yaml: render.valuesFiles must be a list of strings'],
    [{ source: { oci: { url: 'ghcr.io/acme/app' } } }, 'apps/shop.yaml: source.oci.url must be an oci://<registry>/<repository> URL'],
    [{ source: { oci: { url: 'oci://r.example/app', ref: { tag: 'v1', digest: 'sha256:0' } } } }, 'apps/shop.yaml: source.oci.ref must name exactly one of tag, semver, digest'],
    [{ source: { url: 'u', oci: { url: 'oci://r.example/app' } } }, 'apps/shop.yaml: source.oci goes without url, dir and ref (its ref is source.oci.ref)'],
  ])('rejects %j with an APP_SPEC_INVALID naming the file', (fields, message) => {
    expect(() => parseGitAppSpec(spec(fields as Partial<AppSpec>), at)).toThrow(expect.objectContaining({ code: 'APP_SPEC_INVALID', message, data: { position: at } }));
  });
});

describe('appFactory in a fleet', () => {
  it('deploys a local folder per spec with its vars substituted, and fails the fleet pass (nothing applied) on an invalid spec', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'converge-app-factory-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'deploy'));
    writeFileSync(join(dir, 'deploy', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: env }\ndata: { env: "${ENVIRONMENT}", tier: "${TIER}" }\n');
    const specs = memorySource({ 'apps/shop.yaml': `namespace: shop\nsource: { dir: ${JSON.stringify(dir)}, path: deploy }\nvars: { TIER: gold }\n` });
    const sink = new MemorySink();
    const fleet = createFleet({ name: 'f', source: specs, path: 'apps', sink, ...appFactory() });
    cleanups.push(() => fleet.stop());

    expect((await fleet.reconcile()).status).toBe('succeeded');
    expect(sink.objects().find((o) => o.kind === 'ConfigMap')).toMatchObject({ metadata: { namespace: 'shop' }, data: { env: 'shop', tier: 'gold' } });
    expect(fleet.status().apps['shop']?.spec.source.path).toBe('deploy');

    specs.write('apps/web.yaml', 'render: { type: helm }\n');
    const failed = await fleet.reconcile();
    expect(failed.error).toMatchObject({ code: 'APP_SPEC_INVALID', data: { position: { file: 'apps/web.yaml' } } });
    expect(fleet.app('web')).toBeUndefined();
  });
});

describe('appFactory with OCI artifacts', () => {
  it('deploys an app from the artifact CI pushed to a real registry, following its tag', async () => {
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const url = `oci://${registry.host}/acme/shop`;
    const manifest = (tier: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shop }\ndata: { tier: ${tier} }\n`;
    const v1 = await pushArtifact({ url: `${url}:prod`, files: memoryFileTree({ 'deploy/cm.yaml': manifest('silver') }), insecure: true });
    const specs = memorySource({ 'apps/shop.yaml': `namespace: shop\nsource: { oci: { url: ${JSON.stringify(url)}, ref: { tag: prod }, insecure: true }, path: deploy }\n` });
    const sink = new MemorySink();
    const fleet = createFleet({ name: 'f', source: specs, path: 'apps', sink, ...appFactory() });
    cleanups.push(() => fleet.stop());

    expect((await fleet.reconcile()).status).toBe('succeeded');
    expect(fleet.app('shop')?.status().lastAppliedRevision).toBe(v1.revision);
    expect(sink.objects().find((o) => o.kind === 'ConfigMap')).toMatchObject({ metadata: { namespace: 'shop' }, data: { tier: 'silver' } });

    await pushArtifact({ url: `${url}:prod`, files: memoryFileTree({ 'deploy/cm.yaml': manifest('gold') }), insecure: true });
    expect((await fleet.reconcile()).status).toBe('succeeded');
    expect(sink.objects().find((o) => o.kind === 'ConfigMap')).toMatchObject({ data: { tier: 'gold' } });
  });
});
