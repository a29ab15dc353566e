import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReconciler, memoryFileTree, yamlFiles } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ociSource } from '../src/oci-source.js';
import { pushArtifact } from '../src/push-artifact.js';
import { RegistryClient } from '../src/registry-client.js';
import { startRegistry, type TestRegistry } from '../src/testing/registry-server.js';

// Signatures are made by the reference cosign CLI (built from its Go module by
// scripts/build-cosign.sh), with keys it generated, stored in the registry as cosign stores them.
describe('cosign signatures made by the cosign CLI', () => {
  let registry: TestRegistry;
  let dir: string;
  let publicKey: string;
  let otherKey: string;
  const env = { ...process.env, COSIGN_PASSWORD: '', TUF_ROOT: '' };
  const cosign = (args: string[], cwd: string) => execFileSync(inject('cosignBin'), args, { cwd, env, stdio: 'pipe', encoding: 'utf8' });
  const sign = (image: string, key = 'cosign.key') =>
    cosign(['sign', '--key', key, '--tlog-upload=false', '--allow-http-registry', '--allow-insecure-registry', '-y', image], dir);
  const configMap = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: signed, namespace: demo }\ndata: { value: "${value}" }\n`;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'converge-cosign-'));
    env.TUF_ROOT = join(dir, 'tuf');
    cosign(['generate-key-pair'], dir);
    publicKey = readFileSync(join(dir, 'cosign.pub'), 'utf8');
    const other = join(dir, 'other');
    execFileSync('mkdir', [other]);
    cosign(['generate-key-pair'], other);
    otherKey = readFileSync(join(other, 'cosign.pub'), 'utf8');
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses an artifact signed with the key, and refuses one signed by another key or not at all; the reconciler applies nothing then', async () => {
    const url = `oci://${registry.host}/signed/app`;
    const signed = await pushArtifact({ url: `${url}:v1`, files: memoryFileTree({ 'cm.yaml': configMap('signed') }), insecure: true });
    sign(`${registry.host}/signed/app@${signed.digest}`);
    const verified = ociSource({ url, ref: { tag: 'v1' }, insecure: true, verify: { publicKeys: [otherKey, publicKey] } });
    expect(await (await verified.fetch()).files.list()).toEqual(['cm.yaml']);

    const wrongKey = ociSource({ url, ref: { tag: 'v1' }, insecure: true, verify: { publicKeys: [otherKey] } });
    await expect(wrongKey.fetch()).rejects.toMatchObject({ code: 'OCI_SIGNATURE_INVALID', message: expect.stringContaining('no signature verifies with the key given') });

    const sink = new MemorySink();
    const reconciler = createReconciler({ name: 'signed', source: verified, render: yamlFiles(), sink, prune: true });
    expect(await reconciler.reconcile()).toMatchObject({ status: 'succeeded', revision: signed.revision });

    // The tag now points at an unsigned artifact: the pass fails and the signed object stays.
    const unsigned = await pushArtifact({ url: `${url}:v1`, files: memoryFileTree({ 'other.yaml': configMap('unsigned') }), insecure: true });
    const failed = await reconciler.reconcile();
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'OCI_SIGNATURE_INVALID', message: expect.stringContaining('it is not signed') } });
    expect(sink.objects().map((o) => o.data)).toEqual([{ value: 'signed' }]);
    expect(reconciler.status().lastAppliedRevision).toBe(signed.revision);
    expect(unsigned.digest).not.toBe(signed.digest);
  });

  it('refuses a valid signature copied onto another artifact (it names the digest it signed)', async () => {
    const url = `oci://${registry.host}/signed/copy`;
    const good = await pushArtifact({ url: `${url}:good`, files: memoryFileTree({ 'cm.yaml': configMap('good') }), insecure: true });
    sign(`${registry.host}/signed/copy@${good.digest}`);
    const evil = await pushArtifact({ url: `${url}:evil`, files: memoryFileTree({ 'cm.yaml': configMap('evil') }), insecure: true });
    const client = new RegistryClient({ registry: registry.host, insecure: true });
    const signature = await client.manifest('signed/copy', `${good.digest.replace(':', '-')}.sig`);
    await client.pushManifest('signed/copy', `${evil.digest.replace(':', '-')}.sig`, signature.mediaType, signature.bytes);

    const source = ociSource({ url, ref: { tag: 'evil' }, insecure: true, verify: { publicKeys: [publicKey] } });
    await expect(source.fetch()).rejects.toMatchObject({ code: 'OCI_SIGNATURE_INVALID', message: expect.stringContaining('made for another digest') });
  });

  it('says which key is not a public key', async () => {
    const source = ociSource({ url: `oci://${registry.host}/signed/app`, ref: { tag: 'v1' }, insecure: true, verify: { publicKeys: [publicKey, 'not a key'] } });
    await expect(source.fetch()).rejects.toMatchObject({ code: 'OCI_INVALID_OPTIONS', data: { keyIndex: 1 } });
  });
});
