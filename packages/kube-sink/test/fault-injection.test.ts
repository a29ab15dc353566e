import { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { AggregateConvergeError, createReconciler, refKey } from '@converge/core';
import type { ConvergeError, KubeObject, ObjectRef } from '@converge/core';
import { FakeClock } from '@converge/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeHttpError, KubeSinkError, createTransport, kubeSink } from '../src/index.js';
import type { KubeRequest, KubeStatus, KubeTransport } from '../src/index.js';
import { configMap, desiredState, namespace, recordingSink, uniqueName } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';

/**
 * Faults injected between the sink and a real API server, as controller-runtime's interceptor
 * client does: the transport is passed in, wrapped so a chosen request fails; every other
 * request reaches kube-apiserver.
 */
type Intercept = (req: KubeRequest, index: number, next: () => Promise<unknown>) => Promise<unknown>;

interface Intercepted {
  transport: KubeTransport;
  /** Every request sent through the wrapper, in order, with the fault that replaced it if any. */
  log: { method: string; path: string; faulted: boolean }[];
}

function intercepted(base: KubeTransport, intercept: Intercept): Intercepted {
  const log: Intercepted['log'] = [];
  const transport: KubeTransport = {
    ...base,
    request: <T>(req: KubeRequest): Promise<T> => {
      const entry = { method: req.method, path: req.path, faulted: true };
      log.push(entry);
      return intercept(req, log.length, () => {
        entry.faulted = false;
        return base.request(req);
      }) as Promise<T>;
    },
  };
  return { transport, log };
}

const status = (code: number, reason: string, message: string): KubeStatus => ({ kind: 'Status', status: 'Failure', code, reason, message });

/** Answers as kube-apiserver words them. */
const FAULTS = {
  500: () => new KubeHttpError(500, status(500, 'InternalError', 'Internal error occurred: etcdserver: leader changed'), ''),
  409: () => new KubeHttpError(409, status(409, 'Conflict', 'Operation cannot be fulfilled on configmaps "a": the object has been modified'), ''),
  429: () => new KubeHttpError(429, undefined, 'Too many requests, please try again later.\n'),
  reset: () => Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
} as const;

function codesOf(error: ConvergeError | undefined): string[] {
  if (error instanceof AggregateConvergeError) return error.errors.map((e) => e.code);
  return error ? [error.code] : [];
}

let kc: KubeConfig;
let base: KubeTransport;

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
  base = createTransport(kc);
});

afterAll(async () => {
  await base?.close();
});

describe('faults injected through the transport option', () => {
  it('failing the nth request of a pruning pass, for every n: no object is deleted after a failed request, and the failure is typed', async () => {
    const ns = uniqueName('nth');
    const refs: ObjectRef[] = ['a', 'b', 'c'].map((name) => ({ group: '', kind: 'ConfigMap', namespace: ns, name }));
    const c = refs[2] as ObjectRef;
    let failAt = 0;
    const { transport, log } = intercepted(base, (_req, index, next) => (index === failAt ? Promise.reject(FAULTS[500]()) : next()));
    const sink = kubeSink({ transport, inventory: { namespace: ns } });
    const state = desiredState([namespace(ns), configMap(ns, 'a', { v: '0' }), configMap(ns, 'b', { v: '0' }), configMap(ns, 'c', { v: '0' })]);
    const r = createReconciler({ name: 'nth', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');

    let n = 1;
    for (; ; n++) {
      // Each pass changes a and b and drops c, so it applies, prunes and writes the inventory.
      state.objects = [namespace(ns), configMap(ns, 'a', { v: String(n) }), configMap(ns, 'b', { v: String(n) })];
      log.length = 0;
      failAt = n;
      const result = await r.reconcile();
      if (log.length < n) {
        expect(result.status).toBe('succeeded');
        break;
      }
      const failed = log[n - 1] as Intercepted['log'][number];
      expect(failed.faulted, `request ${n}`).toBe(true);
      expect(result.status, `request ${n}: ${failed.method} ${failed.path}`).toBe('failed');
      expect(result.error?.retryable).toBe(true);
      expect(new Set(codesOf(result.error))).toEqual(new Set(['KUBE_UNAVAILABLE']));
      const deletedBefore = log.slice(0, n - 1).some((e) => e.method === 'DELETE');
      if (failed.method !== 'DELETE' && !deletedBefore) {
        expect(log.slice(n).filter((e) => e.method === 'DELETE'), `request ${n}: ${failed.method} ${failed.path}`).toEqual([]);
        expect((await sink.get([c])).map((o) => o.metadata.name)).toEqual(['c']);
      }
    }
    failAt = 0;
    // Discovery, reads, applies of the namespace and a and b, the prune and the inventory: all were faulted once.
    expect(n).toBeGreaterThan(6);
    expect((await sink.get(refs)).map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    expect((await sink.readInventory('nth'))?.map(refKey).sort()).toEqual([refKey({ group: '', kind: 'Namespace', name: ns }), refKey(refs[0] as ObjectRef), refKey(refs[1] as ObjectRef)].sort());
    await sink.close();
  });

  it.each([
    ['500', 'KUBE_UNAVAILABLE', FAULTS[500]],
    ['409', 'KUBE_CONFLICT', FAULTS[409]],
    ['429', 'KUBE_UNAVAILABLE', FAULTS[429]],
    ['connection reset', 'KUBE_UNREACHABLE', FAULTS.reset],
  ] as const)('a %s on the apply of one object fails the pass with a retryable %s naming it, and prunes nothing', async (_name, code, fault) => {
    const ns = uniqueName('fault');
    let armed = false;
    const { transport, log } = intercepted(base, (req, _i, next) =>
      armed && req.method === 'PATCH' && req.path.endsWith('/configmaps/a') ? Promise.reject(fault()) : next(),
    );
    const sink = kubeSink({ transport, inventory: { namespace: ns } });
    const state = desiredState([namespace(ns), configMap(ns, 'a', { v: '1' }), configMap(ns, 'old', { v: '1' })]);
    const r = createReconciler({ name: 'fault', source: state.source, render: state.render, sink, prune: true });
    expect((await r.reconcile()).status).toBe('succeeded');

    armed = true;
    log.length = 0;
    state.objects = [namespace(ns), configMap(ns, 'a', { v: '2' })];
    const result = await r.reconcile();
    expect(result.status).toBe('failed');
    expect(codesOf(result.error)).toEqual([code]);
    expect(result.error?.retryable).toBe(true);
    expect(result.error?.message).toContain(`ConfigMap ${ns}/a`);
    expect(result.error).toBeInstanceOf(KubeSinkError);
    expect(log.filter((e) => e.method === 'DELETE')).toEqual([]);
    expect(await sink.get([{ group: '', kind: 'ConfigMap', namespace: ns, name: 'old' }])).toHaveLength(1);
    await sink.close();
  });
});

describe('a failure of the discovery request every pass waits on', () => {
  it.each([
    ['500', FAULTS[500]],
    ['connection reset', FAULTS.reset],
  ] as const)('a %s of the one shared discovery request fails none of the passes waiting on it: they share one fresh request', async (_name, fault) => {
    const ns = uniqueName('disc');
    let first = true;
    const { transport, log } = intercepted(base, async (req, _i, next) => {
      if (req.method !== 'GET' || req.path !== '/api/v1' || !first) return next();
      first = false;
      // Held until every pass waits on it, then failed.
      await new Promise((resolve) => setTimeout(resolve, 300));
      throw fault();
    });
    const sink = kubeSink({ transport, inventory: { namespace: ns } });
    const apps = ['a', 'b', 'c', 'd', 'e'];
    const results = await Promise.all(
      apps.map((app) => {
        const state = desiredState([namespace(`${ns}-${app}`), configMap(`${ns}-${app}`, 'cfg', { v: '1' })]);
        return createReconciler({ name: `disc-${app}`, source: state.source, render: state.render, sink }).reconcile();
      }),
    );
    expect(results.map((r) => r.error?.message ?? r.status)).toEqual(apps.map(() => 'succeeded'));
    expect(log.filter((e) => e.path === '/api/v1').map((e) => e.faulted)).toEqual([true, false]);
    await sink.close();
  });
});

describe('request timeouts on the clock', () => {
  let proxy: TcpProxy;
  let proxied: KubeConfig;

  beforeAll(async () => {
    const cluster = kc.getCurrentCluster();
    proxy = await startTcpProxy(cluster?.server ?? '');
    proxied = new KubeConfig();
    proxied.loadFromOptions({ clusters: kc.clusters.map((cl) => ({ ...cl, server: proxy.url })), users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it('a request that gets no answer fails when the FakeClock passes requestTimeoutMs, as a typed retryable KUBE_UNREACHABLE, and not before', async () => {
    const clock = new FakeClock(Date.now());
    const sink = kubeSink({ kubeConfig: proxied, clock, requestTimeoutMs: 10_000 });
    proxy.blackhole();
    try {
      let settled = false;
      const read = sink.get([{ group: '', kind: 'ConfigMap', namespace: 'default', name: 'never' }]).finally(() => (settled = true));
      const outcome = read.catch((e: unknown) => e);
      await clock.advance(9_999);
      // Real time passes too: the request is still waiting, only the clock decides.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(settled).toBe(false);
      // The request was discovery's: a timed-out discovery request is not sent again (see discovery.ts),
      // so the read fails after one request timeout, not two.
      await clock.advance(1);
      const error = (await Promise.race([outcome, new Promise((resolve) => setTimeout(() => resolve('still waiting 2 s after one request timeout'), 2000))])) as KubeSinkError;
      expect(error).toBeInstanceOf(KubeSinkError);
      expect(error.code).toBe('KUBE_UNREACHABLE');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('timed out');
    } finally {
      await proxy.restore();
      await sink.close();
    }
  });

  it('a pass whose reads hang fails on the clock and prunes nothing', async () => {
    const ns = uniqueName('hang');
    const clock = new FakeClock(Date.now());
    const sink = kubeSink({ kubeConfig: proxied, clock, requestTimeoutMs: 5_000, inventory: { namespace: ns } });
    const state = desiredState([namespace(ns), configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '1' })] as KubeObject[]);
    const r = createReconciler({ name: 'hang', source: state.source, render: state.render, sink, prune: true, clock });
    expect((await r.reconcile()).status).toBe('succeeded');

    proxy.blackhole();
    state.objects = [namespace(ns), configMap(ns, 'a', { v: '2' })];
    const pass = r.reconcile();
    try {
      for (let i = 0; i < 20; i++) await clock.advance(5_000);
      const result = await pass;
      expect(result.status).toBe('failed');
      expect(new Set(codesOf(result.error))).toEqual(new Set(['KUBE_UNREACHABLE']));
    } finally {
      await proxy.restore();
      await sink.close();
    }
    const { sink: admin } = recordingSink(kc);
    expect(await admin.get([{ group: '', kind: 'ConfigMap', namespace: ns, name: 'b' }])).toHaveLength(1);
    await admin.close();
  });
});
