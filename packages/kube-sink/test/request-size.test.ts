import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { ApplyResult, ConvergeError, KubeObject } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { KubeHttpError, createTransport, toKubeError } from '../src/index.js';
import { RequestTooLargeError } from '../src/errors.js';
import type { KubeRequestInfo } from '../src/index.js';
import { blob, blobCrd } from './big-objects.js';
import { configMap, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});

const MiB = 1024 * 1024;

function failure(r: ApplyResult | undefined): ConvergeError {
  if (!r || r.ok) throw new Error(`expected a failed result, got ${r?.ok ? 'ok' : 'nothing'}`);
  return r.error;
}

function bigConfigMap(ns: string, name: string, bytes: number): KubeObject {
  return configMap(ns, name, { blob: 'x'.repeat(bytes) });
}

function applyRequest(ns: string, obj: KubeObject, query: Record<string, string> = {}) {
  return {
    method: 'PATCH' as const,
    path: `/api/v1/namespaces/${ns}/configmaps/${obj.metadata.name}`,
    query: { fieldManager: 'converge', ...query },
    contentType: 'application/apply-patch+yaml',
    body: obj,
  };
}

describe('oversized requests', () => {
  it('a body over the limit fails at once with REQUEST_TOO_LARGE naming the object and both sizes, and is never sent', async () => {
    const ns = uniqueName('big');
    const { sink, requests } = recordingSink(kc);
    expect((await sink.apply([namespace(ns)]))[0]?.ok).toBe(true);
    requests.length = 0;

    for (const size of [4 * MiB, 50 * MiB]) {
      const started = performance.now();
      const [r] = await sink.apply([bigConfigMap(ns, 'big', size)]);
      const error = failure(r);
      expect(error).toBeInstanceOf(RequestTooLargeError);
      expect(error.code).toBe('REQUEST_TOO_LARGE');
      expect(error.retryable).toBe(false);
      expect(error.data).toMatchObject({
        limitedBy: 'maxRequestBytes',
        limitBytes: 3 * MiB,
        ref: { kind: 'ConfigMap', namespace: ns, name: 'big' },
        verb: 'patch',
      });
      expect(error.data['requestBytes']).toBeGreaterThan(size);
      expect(error.message).toMatch(new RegExp(`^patch ConfigMap ${ns}/big: the request body is ${size / MiB}\\.0 MiB \\(\\d+ bytes\\)`));
      expect(error.message).toContain('limit of 3.0 MiB (3145728 bytes');
      expect(error.message).toContain('etcd stores objects up to 1.5 MiB');
      expect(performance.now() - started).toBeLessThan(5_000);
    }
    expect(requests.filter((q: KubeRequestInfo) => q.path.includes('/configmaps/big'))).toEqual([]);
    await sink.close();
  });

  it('the API server refuses a body over 3 MiB with 413, mapped to REQUEST_TOO_LARGE (not retried as unreachable)', async () => {
    const ns = uniqueName('big413');
    const { sink } = recordingSink(kc);
    expect((await sink.apply([namespace(ns)]))[0]?.ok).toBe(true);
    await sink.close();
    // A transport told the server accepts more, to see what the server itself answers.
    const transport = createTransport(kc, { maxRequestBytes: 64 * MiB });
    const obj = bigConfigMap(ns, 'big', 4 * MiB);
    const thrown = await transport.request(applyRequest(ns, obj)).catch((e: unknown) => e);
    await transport.close();
    expect(thrown).toBeInstanceOf(KubeHttpError);
    expect((thrown as KubeHttpError).status).toBe(413);
    const error = toKubeError(thrown, { ref: { group: '', kind: 'ConfigMap', namespace: ns, name: 'big' }, verb: 'patch', resource: 'configmaps' });
    expect(error.code).toBe('REQUEST_TOO_LARGE');
    expect(error.retryable).toBe(false);
    expect(error.data).toMatchObject({ limitedBy: 'kube-apiserver', limitBytes: 3 * MiB, status: 413 });
    expect(error.data['requestBytes']).toBeGreaterThan(4 * MiB);
    expect(error.message).toContain(`patch ConfigMap ${ns}/big: the API server refused the request as too large`);
  });

  it('a 2 MiB ConfigMap passes the transport and is refused by validation (1 MiB of data at most)', async () => {
    const ns = uniqueName('big-cm');
    const { sink } = recordingSink(kc);
    expect((await sink.apply([namespace(ns)]))[0]?.ok).toBe(true);
    const [r] = await sink.apply([bigConfigMap(ns, 'two', 2 * MiB)]);
    const error = failure(r);
    expect(error.code).toBe('KUBE_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('may not be more than 1048576 bytes');
    await sink.close();
  });

  it('an object over etcd\'s limit is accepted by a dry run and refused on apply: REQUEST_TOO_LARGE, not retryable', async () => {
    const ns = uniqueName('big-etcd');
    const group = `${ns}.test.converge.dev`;
    const { sink } = recordingSink(kc);
    const crd = blobCrd(group);
    expect((await sink.apply([namespace(ns), crd])).map((r) => r.ok)).toEqual([true, true]);
    const [dry] = await sink.apply([blob(group, ns, 'one', 1.7 * MiB)], { dryRun: true });
    expect(dry?.ok).toBe(true);

    // etcd's own limit (1.5 MiB), and the API server's etcd client's (2 MiB).
    const results = await sink.apply([blob(group, ns, 'one', 1.7 * MiB), blob(group, ns, 'two', 2 * MiB)]);
    for (const [i, r] of results.entries()) {
      const error = failure(r);
      expect(error).toBeInstanceOf(RequestTooLargeError);
      expect(error.retryable).toBe(false);
      expect(error.data).toMatchObject({ limitedBy: 'etcd', status: 500, ref: { kind: 'Blob', name: i === 0 ? 'one' : 'two' } });
      expect(error.data['requestBytes']).toBeGreaterThan(i === 0 ? 1.7 * MiB : 2 * MiB);
      expect(error.data['limitBytes']).toBe(i === 0 ? 1.5 * MiB : 2 * MiB);
      expect(error.message).toContain(`patch Blob.${group} ${ns}/${i === 0 ? 'one' : 'two'}: the object is too large to store in etcd (`);
    }
    await sink.delete([{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', name: `blobs.${group}` }]);
    await sink.close();
  });
});
