import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { createReconciler } from '@converge/core';
import type { ApplyResult, ConvergeError, KubeObject } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTransport } from '../src/index.js';
import { NamespaceTerminatingError } from '../src/errors.js';
import { configMap, desiredState, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});

function failure(r: ApplyResult | undefined): ConvergeError {
  if (!r || r.ok) throw new Error(`expected a failed result, got ${r?.ok ? 'ok' : 'nothing'}`);
  return r.error;
}

const HOLD = 'converge.dev/test-hold';

/** A namespace that stays Terminating: it holds a ConfigMap whose finalizer nobody removes. */
async function terminatingNamespace(): Promise<{ ns: string; release(): Promise<void> }> {
  const ns = uniqueName('term');
  const { sink } = recordingSink(kc);
  const held = configMap(ns, 'held', { a: '1' }, { finalizers: [HOLD] });
  expect((await sink.apply([namespace(ns), held])).map((r) => r.ok)).toEqual([true, true]);
  const [deleted] = await sink.delete([{ group: '', kind: 'Namespace', name: ns }]);
  expect(deleted?.ok).toBe(true);
  const transport = createTransport(kc);
  const live = await transport.request<KubeObject>({ method: 'GET', path: `/api/v1/namespaces/${ns}` });
  expect((live['status'] as { phase?: string }).phase).toBe('Terminating');
  await sink.close();
  return {
    ns,
    async release() {
      await transport.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}/configmaps/held`,
        contentType: 'application/merge-patch+json',
        body: { metadata: { finalizers: null } },
      });
      await transport.close();
    },
  };
}

describe('a namespace being deleted', () => {
  it('applying into it is a retryable NAMESPACE_TERMINATING naming the namespace, not KUBE_FORBIDDEN', async () => {
    const { ns, release } = await terminatingNamespace();
    const { sink } = recordingSink(kc);
    for (const dryRun of [false, true]) {
      const results = await sink.apply(
        [
          configMap(ns, 'new', { b: '2' }),
          { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, stringData: { p: 'x' } },
        ],
        { dryRun },
      );
      for (const r of results) {
        const error = failure(r);
        expect(error).toBeInstanceOf(NamespaceTerminatingError);
        expect(error.code).toBe('NAMESPACE_TERMINATING');
        expect(error.retryable).toBe(true);
        expect(error.data).toMatchObject({ status: 403, namespace: ns });
        expect(error.message).toContain(`namespace "${ns}" is being deleted`);
        expect(error.message).toContain('will be retried');
        expect(error.message).not.toContain('RBAC');
      }
    }

    // Through a reconciler: the pass fails with a retryable error and prunes nothing.
    const state = desiredState([configMap(ns, 'new', { b: '2' })]);
    const r = createReconciler({ name: 'term', source: state.source, render: state.render, sink });
    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    expect(result.error?.retryable).toBe(true);
    expect(result.error?.message).toContain('is being deleted');
    await sink.close();
    await release();
  });
});
