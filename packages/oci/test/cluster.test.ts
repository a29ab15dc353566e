// Issue 14's acceptance for artifacts: what the independent tool (the oras CLI) pushed to a real
// registry is deployed by a reconciler into a real kube-apiserver; the next version pushed under
// the same tag is followed, and what left it is pruned by inventory.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { createReconciler, yamlFiles } from '@converge/core';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE } from '../src/artifact-media-types.js';
import { ociSource } from '../src/oci-source.js';
import { startRegistry, type TestRegistry } from '../src/testing/registry-server.js';

const id = randomUUID().slice(0, 6);
const ns = `oci-${id}`;
const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);

describe('an artifact oras pushed, deployed into a real control plane', () => {
  let registry: TestRegistry;
  let dir: string;
  let sink: KubeSink;

  /** `oras push` of a folder packed by GNU tar, in Flux's format, as a CI job without Converge would. */
  function orasPush(tag: string, files: Record<string, string>): void {
    const work = mkdtempSync(join(dir, 'push-'));
    const content = join(work, 'content');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(content, path, '..'), { recursive: true });
      writeFileSync(join(content, path), text);
    }
    execFileSync('tar', ['-czf', join(work, 'layer.tgz'), '-C', content, '.']);
    writeFileSync(join(work, 'config.json'), '{}');
    execFileSync(
      inject('orasBin'),
      ['push', '--plain-http', `${registry.host}/deploy/shop:${tag}`, '--config', `config.json:${FLUX_CONFIG_MEDIA_TYPE}`, `layer.tgz:${FLUX_CONTENT_MEDIA_TYPE}`],
      { cwd: work, stdio: 'pipe' },
    );
  }

  const manifests = (greeting: string, withExtra: boolean): Record<string, string> => ({
    'namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`,
    'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app, namespace: ${ns} }\ndata: { greeting: "${greeting}" }\n`,
    ...(withExtra && { 'app/extra.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra, namespace: ${ns} }\ndata: { x: "1" }\n` }),
  });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'converge-oci-cluster-'));
    sink = kubeSink({ kubeConfig: env.kubeConfig });
  });
  afterAll(async () => {
    await sink?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies it, follows the tag to the next version and prunes what left it', async () => {
    orasPush('prod', manifests('hello from oras', true));
    const source = ociSource({ url: `oci://${registry.host}/deploy/shop`, ref: { tag: 'prod' }, insecure: true });
    const reconciler = createReconciler({ name: `oci-${id}`, source, render: yamlFiles(), sink, prune: true });

    const first = await reconciler.reconcile();
    expect(first).toMatchObject({ status: 'succeeded', counts: { created: 3 } });
    expect(first.revision).toMatch(/^prod@sha256:[a-f0-9]{64}$/);
    expect((await core.readNamespacedConfigMap({ name: 'app', namespace: ns })).data).toEqual({ greeting: 'hello from oras' });

    orasPush('prod', manifests('second version', false));
    const second = await reconciler.reconcile();
    expect(second).toMatchObject({ status: 'succeeded', counts: { updated: 1, deleted: 1 } });
    expect(second.revision).not.toBe(first.revision);
    expect((await core.readNamespacedConfigMap({ name: 'app', namespace: ns })).data).toEqual({ greeting: 'second version' });
    await expect(core.readNamespacedConfigMap({ name: 'extra', namespace: ns })).rejects.toMatchObject({ code: 404 });
  });
});
