import { KubeConfig } from '@kubernetes/client-node';
import { FakeClock } from '@converge/core/testing';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { describe, expect, it } from 'vitest';
import { createRequestLimiter, createTransport, kubeSink, sharedRequestLimiter } from '../src/index.js';
import type { RequestLimiter } from '../src/index.js';
import { configMap, namespace, uniqueName } from './helpers.js';

/** Acquires `n` slots in order; `started` lists the indexes granted so far. */
function acquireMany(limiter: RequestLimiter, n: number, signal?: AbortSignal) {
  const started: number[] = [];
  const releases = new Map<number, () => void>();
  const settled = Array.from({ length: n }, (_, i) =>
    limiter.acquire(signal).then(
      (release) => {
        started.push(i);
        releases.set(i, release);
      },
      (reason: unknown) => reason,
    ),
  );
  return { started, release: (i: number) => releases.get(i)?.(), settled };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('createRequestLimiter', () => {
  // Slots are core's Semaphore (first come, first served, an aborted waiter dropped: its own tests);
  // these check what the limiter adds: the counts it reports and tokens on top of slots.
  it('counts requests holding a slot as in flight and the others as waiting', async () => {
    const limiter = createRequestLimiter({ maxInFlight: 2 });
    const { started, release } = acquireMany(limiter, 5);
    await tick();
    expect(started).toEqual([0, 1]);
    expect(limiter.stats()).toEqual({ inFlight: 2, waiting: 3, maxInFlight: 2 });
    release(0);
    await tick();
    expect(started).toEqual([0, 1, 2]);
  });

  it('a request cancelled while it waits for a token gives back its slot and its token, and is never started', async () => {
    const clock = new FakeClock();
    const limiter = createRequestLimiter({ maxInFlight: 2, qps: 10, burst: 1, clock });
    const first = acquireMany(limiter, 1);
    const abort = new AbortController();
    const cancelled = acquireMany(limiter, 1, abort.signal);
    await tick();
    expect(limiter.stats()).toEqual({ inFlight: 1, waiting: 1, maxInFlight: 2 });
    abort.abort(new DOMException('the pass was cancelled', 'AbortError'));
    expect(await cancelled.settled[0]).toMatchObject({ name: 'AbortError' });
    expect(cancelled.started).toEqual([]);
    expect(limiter.stats()).toEqual({ inFlight: 1, waiting: 0, maxInFlight: 2 });
    // The token it had reserved is back: the next request waits one interval, not two.
    const next = acquireMany(limiter, 1);
    await clock.advance(100);
    expect(next.started).toEqual([0]);
    expect(first.started).toEqual([0]);
  });

  it('with qps and burst, starts a burst at once and then one request per 1/qps s on the clock', async () => {
    const clock = new FakeClock();
    const limiter = createRequestLimiter({ maxInFlight: Infinity, qps: 10, burst: 3, clock });
    const { started } = acquireMany(limiter, 6);
    await tick();
    expect(started).toEqual([0, 1, 2]);
    await clock.advance(99);
    expect(started).toHaveLength(3);
    await clock.advance(1);
    expect(started).toHaveLength(4);
    await clock.advance(200);
    expect(started).toHaveLength(6);
    // Tokens build up again while idle, never beyond the burst.
    await clock.advance(10_000);
    const later = acquireMany(limiter, 4);
    await tick();
    expect(later.started).toEqual([0, 1, 2]);
  });

  it('refuses settings that would never let a request through', () => {
    expect(() => createRequestLimiter({ maxInFlight: 0 })).toThrow(RangeError);
    expect(() => createRequestLimiter({ qps: 0 })).toThrow(RangeError);
    expect(() => createRequestLimiter({ qps: 5, burst: 0.5 })).toThrow(RangeError);
  });
});

describe('request limiter on a real control plane', () => {
  it("a request's timeout counts from when it is sent, not while it waits for a slot; one cancelled while waiting is never sent", async () => {
    const { kubeConfig } = await useTestEnv();
    const clock = new FakeClock();
    const limiter = createRequestLimiter({ maxInFlight: 1 });
    const sent: string[] = [];
    const transport = createTransport(kubeConfig, { clock, limiter, timeoutMs: 1000, onRequest: (r) => sent.push(r.path) });
    try {
      const release = await limiter.acquire();
      const waiting = transport.request<{ kind: string }>({ method: 'GET', path: '/api/v1/namespaces/default' });
      const abort = new AbortController();
      const cancelled = transport.request({ method: 'GET', path: '/api/v1/namespaces/kube-system', signal: abort.signal });
      await clock.advance(60_000);
      abort.abort(new DOMException('the pass was cancelled', 'AbortError'));
      await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
      expect(limiter.stats()).toMatchObject({ inFlight: 1, waiting: 1 });
      release();
      expect(await waiting).toMatchObject({ kind: 'Namespace' });
      expect(sent).toEqual(['/api/v1/namespaces/default']);
    } finally {
      await transport.close();
    }
  });

  it('sinks on one KubeConfig object share one cap: together they wait, none exceeds it, every apply succeeds', async () => {
    const env = await useTestEnv();
    // A KubeConfig object of this test's own, so its shared limiter serves only these sinks.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.kubeconfigPath);
    const limiter = sharedRequestLimiter(kubeConfig);
    const { maxInFlight } = limiter.stats();
    // Each sink alone stays under the cap; together they go over it.
    const concurrency = Math.ceil((maxInFlight * 3) / 4);
    const sinks = [0, 1].map(() => kubeSink({ kubeConfig, concurrency, cacheReads: false }));
    const namespaces = sinks.map(() => uniqueName('limit'));
    try {
      for (const [i, sink] of sinks.entries()) await sink.apply([namespace(namespaces[i] as string)]);
      let most = 0;
      let waited = 0;
      let sampling = true;
      const sample = async (): Promise<void> => {
        while (sampling) {
          const { inFlight, waiting } = limiter.stats();
          most = Math.max(most, inFlight);
          waited = Math.max(waited, waiting);
          await tick();
        }
      };
      const sampler = sample();
      const results = await Promise.all(
        sinks.map((sink, i) => sink.apply(Array.from({ length: maxInFlight * 2 }, (_, n) => configMap(namespaces[i] as string, `c-${n}`, { n: String(n) })))),
      );
      sampling = false;
      await sampler;
      expect(results.flat().every((r) => r.ok)).toBe(true);
      expect(most).toBe(maxInFlight);
      expect(waited).toBeGreaterThan(0);
      expect(limiter.stats()).toMatchObject({ inFlight: 0, waiting: 0 });
    } finally {
      for (const sink of sinks) await sink.close();
    }
  });
});
