import { KubeConfig } from '@kubernetes/client-node';
import { startTestEnv } from '@converge/kube-testenv';
import type { TestEnv } from '@converge/kube-testenv';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { AggregateConvergeError, createReconciler } from '@converge/core';
import type { KubeObject } from '@converge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeSink } from '../src/index.js';
import { configMap, desiredState, namespace, recordingSink, uniqueName } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';

let kc: KubeConfig;
let proxy: TcpProxy;
let proxied: KubeConfig;

function throughServer(base: KubeConfig, server: string): KubeConfig {
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: base.clusters.map((c) => ({ ...c, server })),
    users: base.users,
    contexts: base.contexts,
    currentContext: base.currentContext,
  });
  return out;
}

beforeAll(async () => {
  const env = await useTestEnv();
  kc = env.kubeConfig;
  proxy = await startTcpProxy(env.server);
  proxied = throughServer(kc, proxy.url);
});

afterAll(async () => {
  await proxy?.close();
});

describe('when the API server becomes unreachable', () => {
  it('a pass cut off midway fails with a retryable KUBE_UNREACHABLE, prunes nothing, and the next pass recovers', async () => {
    const ns = uniqueName('cut');
    let writes = 0;
    let cutAfter = Infinity;
    const sink = kubeSink({
      kubeConfig: proxied,
      inventory: { namespace: ns },
      onRequest: (r) => {
        if (r.write && ++writes === cutAfter) void proxy.cut();
      },
    });
    const cms = (n: number, v: string): KubeObject[] => Array.from({ length: n }, (_, i) => configMap(ns, `cm-${i}`, { v }));
    const state = desiredState([namespace(ns), ...cms(60, 'a')]);
    const r = createReconciler({ name: 'cut', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');

    // Drop 20 objects and change the rest; the network goes away after a few writes.
    state.objects = [namespace(ns), ...cms(40, 'b')];
    writes = 0;
    cutAfter = 5;
    const failed = await r.reconcile();
    expect(failed.status).toBe('failed');
    expect(failed.error?.retryable).toBe(true);
    const codes = failed.error instanceof AggregateConvergeError ? failed.error.errors.map((e) => e.code) : [failed.error?.code];
    expect(new Set(codes)).toEqual(new Set(['KUBE_UNREACHABLE']));
    expect(failed.error?.message).toContain('unreachable');

    // Nothing was pruned: all 60 are still there (read directly, not through the proxy).
    const { sink: admin } = recordingSink(kc);
    const refs = Array.from({ length: 60 }, (_, i) => ({ group: '', kind: 'ConfigMap', namespace: ns, name: `cm-${i}` }));
    expect(await admin.get(refs)).toHaveLength(60);

    await proxy.restore();
    cutAfter = Infinity;
    const recovered = await r.reconcile();
    expect(recovered.error?.message).toBeUndefined();
    expect(recovered.counts.deleted).toBe(20);
    const live = await admin.get(refs);
    expect(live).toHaveLength(40);
    expect(live.every((o) => (o['data'] as { v: string }).v === 'b')).toBe(true);
    await sink.close();
    await admin.close();
  });

  it('a request that gets no answer times out as a retryable KUBE_UNREACHABLE', async () => {
    const sink = kubeSink({ kubeConfig: proxied, requestTimeoutMs: 500 });
    proxy.blackhole();
    try {
      const [r] = await sink.apply([configMap('default', 'never', {})]);
      expect(r?.ok).toBe(false);
      if (r && !r.ok) {
        expect(r.error.code).toBe('KUBE_UNREACHABLE');
        expect(r.error.retryable).toBe(true);
        expect(r.error.message).toContain('timed out');
      }
    } finally {
      await proxy.restore();
      await sink.close();
    }
  });
});

describe('when the API server process stops mid-pass', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startTestEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('objects not yet applied fail with a typed retryable error and reads fail with KUBE_UNREACHABLE', async () => {
    const ns = uniqueName('stop');
    let writes = 0;
    let stopping: Promise<void> | undefined;
    const sink = kubeSink({
      kubeConfig: env.kubeConfig,
      concurrency: 4,
      onRequest: (r) => {
        if (r.write && ++writes === 20) stopping = env.stop();
      },
    });
    const results = await sink.apply([namespace(ns), ...Array.from({ length: 1000 }, (_, i) => configMap(ns, `cm-${i}`, { i: String(i) }))]);
    await stopping;
    const failures = results.filter((r) => !r.ok).map((r) => (r.ok ? undefined : r.error));
    expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(19);
    expect(failures.length).toBeGreaterThan(0);
    for (const e of failures) {
      expect(['KUBE_UNREACHABLE', 'KUBE_UNAVAILABLE']).toContain(e?.code);
      expect(e?.retryable).toBe(true);
    }
    await expect(sink.get([{ group: '', kind: 'ConfigMap', namespace: ns, name: 'cm-0' }])).rejects.toMatchObject({ code: 'KUBE_UNREACHABLE' });
    await sink.close();
  });
});
