import { createReconciler } from '@converge/core';
import type { Gate } from '@converge/core';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRequestLimiter, createTransport, KubeSinkError } from '../src/index.js';
import type { KubeRequestInfo } from '../src/index.js';
import { configMap, desiredState, namespace, recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});

/** A LIST the API server holds for about 3 s before answering: it waits for a resourceVersion it has not reached. */
const heldList = { method: 'GET', path: '/api/v1/namespaces/default/configmaps', query: { resourceVersion: '999999999', resourceVersionMatch: 'NotOlderThan' } } as const;

describe('a cancelled request over HTTP/2', () => {
  // Before: the pass's signal reached undici, which reset the inventory read's HTTP/2 stream
  // mid-flight; the next writes on the connection left that stream behind, and closing the sink
  // destroyed it with UND_ERR_DESTROYED and no listener — an uncaught exception (vitest fails
  // the run with "Unhandled Errors"), a crashed agent.
  it('a pass cancelled while its inventory read is in flight, then passes that write, then close: no uncaught error', async () => {
    const ns = uniqueName('cancel');
    const { sink, requests } = recordingSink(kc, { inventory: { namespace: ns } });
    await sink.apply([namespace(ns)]);
    const state = desiredState([configMap(ns, 'a', { v: '1' })]);
    const cancel = new AbortController();
    const cancelling: Gate = {
      name: 'cancel',
      check: async () => {
        cancel.abort(new DOMException('the pass was cancelled', 'AbortError'));
        return { ok: true };
      },
    };
    const cancelled = createReconciler({ name: 'cancelled', source: state.source, render: state.render, sink, gates: [cancelling] });
    expect((await cancelled.reconcile({ signal: cancel.signal })).error?.code).toBe('ABORTED');

    const r = createReconciler({ name: 'cancelled', source: state.source, render: state.render, sink });
    expect((await r.reconcile()).status).toBe('succeeded');
    state.objects = [configMap(ns, 'a', { v: '2' })];
    expect((await r.reconcile()).status).toBe('succeeded');
    expect(requests.filter((q) => q.write).length).toBeGreaterThan(2);
    await sink.close();
    // An error left on the closed connection surfaces within a few ticks.
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  it('rejects with the reason at once, lets the request finish in the background, and close() waits for it', async () => {
    const answered: KubeRequestInfo[] = [];
    const transport = createTransport(kc, { onRequest: (info) => answered.push(info) });
    await transport.request({ method: 'GET', path: '/api/v1/namespaces/default' });
    const cancel = new AbortController();
    const started = performance.now();
    const held = transport.request({ ...heldList, signal: cancel.signal });
    setTimeout(() => cancel.abort(new DOMException('the pass was cancelled', 'AbortError')), 200);
    await expect(held).rejects.toMatchObject({ name: 'AbortError', message: 'the pass was cancelled' });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(answered).toHaveLength(1);

    await transport.close();
    // The server's own answer to the held LIST (not 0: it was not cut off).
    expect(answered).toHaveLength(2);
    expect(answered[1]?.path).toContain('resourceVersionMatch=NotOlderThan');
    expect(answered[1]?.status).toBeGreaterThan(0);
  });

  it('a request whose signal is already aborted is not sent', async () => {
    const answered: KubeRequestInfo[] = [];
    const transport = createTransport(kc, { onRequest: (info) => answered.push(info) });
    const signal = AbortSignal.abort(new DOMException('too late', 'AbortError'));
    await expect(transport.request({ method: 'GET', path: '/api/v1/namespaces/default', signal })).rejects.toMatchObject({ message: 'too late' });
    await transport.close();
    expect(answered).toHaveLength(0);
  });

  it('close() with a cancelled request still finishing waits no longer than its timeout, and a second close() waits for the same', async () => {
    const transport = createTransport(kc, { timeoutMs: 800 });
    await transport.request({ method: 'GET', path: '/api/v1/namespaces/default' });
    const cancel = new AbortController();
    const held = transport.request({ ...heldList, signal: cancel.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    cancel.abort(new DOMException('the pass was cancelled', 'AbortError'));
    await expect(held).rejects.toMatchObject({ name: 'AbortError' });
    // The connection goes on serving while the held LIST is still open.
    for (let i = 0; i < 3; i++) await transport.request({ method: 'GET', path: '/api/v1/namespaces/default' });
    const started = performance.now();
    const first = transport.close().then(() => performance.now() - started);
    const second = transport.close().then(() => performance.now() - started);
    const [firstMs, secondMs] = await Promise.all([first, second]);
    // The held LIST ends at its 800 ms timeout (the server would hold it ~3 s).
    expect(firstMs).toBeLessThan(1500);
    expect(secondMs).toBeGreaterThanOrEqual(firstMs - 5);
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  it('a request after close(), or one waiting for its limiter slot when close() came, fails with TRANSPORT_CLOSED and opens no new connection pool', async () => {
    const answered: KubeRequestInfo[] = [];
    const limiter = createRequestLimiter({ maxInFlight: 1 });
    const transport = createTransport(kc, { limiter, onRequest: (info) => answered.push(info) });
    await transport.request({ method: 'GET', path: '/api/v1/namespaces/default' });
    const taken = await limiter.acquire();
    const waiting = transport.request({ method: 'GET', path: '/api/v1/namespaces/kube-system' });
    const closed = transport.close();
    taken();
    await expect(waiting).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
    await closed;
    await expect(transport.request({ method: 'GET', path: '/api/v1/namespaces/default' })).rejects.toBeInstanceOf(KubeSinkError);
    await expect(transport.request({ method: 'GET', path: '/api/v1/namespaces/default' })).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED', retryable: false });
    await expect(transport.stream({ method: 'GET', path: '/api/v1/namespaces', query: { watch: 1 } }, () => undefined)).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
    expect(answered).toHaveLength(1);
  });
});
