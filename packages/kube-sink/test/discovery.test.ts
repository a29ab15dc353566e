import { FakeClock } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { KubeHttpError } from '../src/errors.js';
import type { KubeRequest, KubeTransport } from '../src/transport.js';

/** A transport whose answers the test releases by hand, recording what was asked and with which signal. */
function heldTransport() {
  const asked: { path: string; signal: AbortSignal | undefined; release: () => void; fail: (error: unknown) => void }[] = [];
  const transport: KubeTransport = {
    server: 'https://discovery.test.invalid',
    request<T>(req: KubeRequest): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const body = req.path === '/apis' ? { groups: [] } : { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['get'] }] };
        asked.push({ path: req.path, signal: req.signal, release: () => resolve(body as T), fail: reject });
        req.signal?.addEventListener('abort', () => reject(req.signal!.reason), { once: true });
      });
    },
    stream: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
  return { transport, asked };
}

describe('discovery shared by several passes', () => {
  it('one cancelled caller does not fail the others waiting on the same request, and one request serves them all', async () => {
    const { transport, asked } = heldTransport();
    const discovery = createDiscovery(transport);
    const cancelled = new AbortController();
    const first = discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' }, { signal: cancelled.signal });
    const second = discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' }, { signal: new AbortController().signal });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.signal).toBeUndefined();

    cancelled.abort(new Error('hand-over'));
    await expect(first).rejects.toThrow('hand-over');
    asked[0]!.release();
    await expect(second).resolves.toMatchObject({ kind: 'ConfigMap', namespaced: true });
    expect(asked).toHaveLength(1);
  });

  const tick = () => new Promise((r) => setImmediate(r));
  const unavailable = () => new KubeHttpError(503, { kind: 'Status', status: 'Failure', code: 503, reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request' }, '');
  const configMap = { group: '', version: 'v1', kind: 'ConfigMap' };

  it('a retryable failure of the shared request does not fail its waiters: they share one fresh request, at once', async () => {
    const { transport, asked } = heldTransport();
    const discovery = createDiscovery(transport);
    const waiting = [discovery.resolve(configMap), discovery.resolve(configMap), discovery.resolve(configMap)];
    expect(asked).toHaveLength(1);
    asked[0]!.fail(unavailable());
    await tick();
    expect(asked.map((a) => a.path)).toEqual(['/api/v1', '/api/v1']);
    asked[1]!.release();
    for (const w of waiting) await expect(w).resolves.toMatchObject({ resource: 'configmaps' });
    expect(asked).toHaveLength(2);
  });

  it('fails its waiters when the fresh request fails too (two requests in all), and at once for a failure that is not retryable', async () => {
    const { transport, asked } = heldTransport();
    const discovery = createDiscovery(transport);
    const waiting = [discovery.resolve(configMap), discovery.resolve(configMap)];
    asked[0]!.fail(unavailable());
    await tick();
    asked[1]!.fail(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    for (const w of waiting) await expect(w).rejects.toMatchObject({ code: 'KUBE_UNREACHABLE' });
    expect(asked).toHaveLength(2);

    const forbidden = discovery.resolve(configMap);
    asked[2]!.fail(new KubeHttpError(403, { kind: 'Status', status: 'Failure', code: 403, reason: 'Forbidden', message: 'forbidden' }, ''));
    await expect(forbidden).rejects.toMatchObject({ code: 'KUBE_FORBIDDEN' });
    expect(asked).toHaveLength(3);
  });

  it('a shared request that timed out is not sent again: its waiters fail after one request timeout, as client-go does', async () => {
    const clock = new FakeClock(0);
    const timeoutMs = 10_000;
    const { transport, asked } = heldTransport();
    // Requests that get no answer, failed as the transport fails them when its request timeout passes.
    const hanging: KubeTransport = {
      ...transport,
      request<T>(req: KubeRequest): Promise<T> {
        const sent = transport.request<T>(req);
        const ask = asked.at(-1)!;
        clock.setTimeout(() => ask.fail(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
        return sent;
      },
    };
    const discovery = createDiscovery(hanging);
    const settledAt: number[] = [];
    const waiting = [discovery.resolve(configMap), discovery.resolve({ group: 'apps', kind: 'Deployment' })].map((w) =>
      w.then(
        () => 'resolved',
        (error: unknown) => (settledAt.push(clock.now()), error),
      ),
    );
    await clock.advance(5_000);
    // One more caller joins the request in flight halfway through.
    waiting.push(discovery.resolve(configMap).catch((error: unknown) => (settledAt.push(clock.now()), error)));
    await clock.advance(timeoutMs);
    expect(settledAt).toEqual([timeoutMs, timeoutMs, timeoutMs]);
    for (const error of await Promise.all(waiting)) expect(error).toMatchObject({ code: 'KUBE_UNREACHABLE', data: { timedOut: true } });
    expect(asked.map((a) => a.path)).toEqual(['/api/v1', '/apis']);
  });
});
