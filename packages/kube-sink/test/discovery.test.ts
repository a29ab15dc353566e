import { describe, expect, it } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import type { KubeRequest, KubeTransport } from '../src/transport.js';

/** A transport whose answers the test releases by hand, recording what was asked and with which signal. */
function heldTransport() {
  const asked: { path: string; signal: AbortSignal | undefined; release: () => void }[] = [];
  const transport: KubeTransport = {
    server: 'https://discovery.test.invalid',
    request<T>(req: KubeRequest): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const body = req.path === '/apis' ? { groups: [] } : { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['get'] }] };
        asked.push({ path: req.path, signal: req.signal, release: () => resolve(body as T) });
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
});
