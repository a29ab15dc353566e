import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { DriftEvent, KubeObject } from '@converge/core';
import { FakeClock } from '@converge/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWatchCache, kubeSink } from '../src/index.js';
import type { KubeRequestInfo, WatchCache } from '../src/index.js';
import { heapHolds, randomValue } from './heap-search.js';
import { eventually, namespace, secret, secretRef as ref, uniqueName } from './helpers.js';

let kc: KubeConfig;
let core: CoreV1Api;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});


/** A watch cache of the test's own (its requests recorded) and a sink on it. */
function cacheAndSink(): { watchCache: WatchCache; sink: ReturnType<typeof kubeSink>; cacheRequests: KubeRequestInfo[]; sinkRequests: KubeRequestInfo[]; clock: FakeClock } {
  const cacheRequests: KubeRequestInfo[] = [];
  const sinkRequests: KubeRequestInfo[] = [];
  // The cache's clock ends claims (and what stopped being followed) when the test moves it.
  const clock = new FakeClock(Date.now());
  const watchCache = createWatchCache({ kubeConfig: kc, clock, onRequest: (r) => cacheRequests.push(r) });
  const sink = kubeSink({ kubeConfig: kc, watchCache, watch: { debounceMs: 50 }, onRequest: (r) => sinkRequests.push(r) });
  cleanups.push(() => watchCache.close(), () => sink.close());
  return { watchCache, sink, cacheRequests, sinkRequests, clock };
}

/** Written by an admin client, not by a Converge sink: somebody else's Secrets. */
async function foreignSecrets(ns: string, count: number, value: Buffer): Promise<void> {
  for (let i = 0; i < count; i++) await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `foreign-${i}` }, data: { value: value.toString('latin1') } } });
}

async function applyOwn(sink: ReturnType<typeof kubeSink>, ns: string, value: Buffer): Promise<boolean> {
  const [applied] = await sink.apply([secret(ns, 'own', value.toString('latin1'))]);
  return applied?.ok === true;
}

describe('what a watch cache holds of a collection it watches across the cluster', () => {
  it("keeps the content of the objects its sinks follow, only the name and version of everybody else's: no foreign Secret value stays in memory", async () => {
    const ns = uniqueName('held');
    const { watchCache, sink } = cacheAndSink();
    await sink.apply([namespace(ns)]);
    const foreign = randomValue();
    await foreignSecrets(ns, 30, foreign);
    const own = randomValue();
    expect(await applyOwn(sink, ns, own)).toBe(true);
    const stop = sink.watch([ref(ns, 'own')], () => undefined);
    cleanups.push(async () => stop());
    await eventually(() => watchCache.stats().watches === 1 && watchCache.stats().held === 1);
    // Every Secret of the cluster is known (so a read of an absent one needs no request), one is held.
    expect(watchCache.stats().objects).toBeGreaterThanOrEqual(31);
    expect(watchCache.stats()).toMatchObject({ held: 1 });
    // The search works: the followed Secret's value is in the heap; the others' are not.
    expect(await heapHolds(own)).toBe(true);
    expect(await heapHolds(foreign)).toBe(false);
  });

  it('an object the cache knew only by name is read from the server, then followed without another request; a later change to it is drift', async () => {
    const ns = uniqueName('adopt');
    const first = cacheAndSink();
    await first.sink.apply([namespace(ns), secret(ns, 'a', 'YQ==')]);
    // Somebody else's, there when the cache lists Secrets: it knows the name and version.
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'b' }, data: { value: 'Yg==' } } });
    const stopFirst = first.sink.watch([ref(ns, 'a')], () => undefined);
    cleanups.push(async () => stopFirst());
    await eventually(() => first.watchCache.stats().watches === 1 && first.watchCache.stats().held === 1);
    const heldBefore = first.watchCache.stats().held;

    // Another sink on the same cache adopts it: its read goes to the server and is handed to the cache.
    const second = kubeSink({ kubeConfig: kc, watchCache: first.watchCache, watch: { debounceMs: 50 }, onRequest: (r) => first.sinkRequests.push(r) });
    cleanups.push(() => second.close());
    const reads = (): KubeRequestInfo[] => first.sinkRequests.filter((r) => r.method === 'GET' && r.path.endsWith(`/namespaces/${ns}/secrets/b`));
    const [live] = await second.get([ref(ns, 'b')]);
    expect(live?.data).toEqual({ value: 'Yg==' });
    expect(reads()).toHaveLength(1);
    const drift: DriftEvent[] = [];
    const stop = second.watch([ref(ns, 'b')], (e) => drift.push(e));
    cleanups.push(async () => stop());
    expect(first.watchCache.stats().held).toBe(heldBefore + 1);
    // Followed now: reads come from the cache, and nothing was fetched by the cache itself.
    await second.get([ref(ns, 'b')]);
    expect(reads()).toHaveLength(1);
    expect(first.cacheRequests.filter((r) => r.path.includes('/secrets/b'))).toEqual([]);

    const current = await core.readNamespacedSecret({ namespace: ns, name: 'b' });
    await core.replaceNamespacedSecret({ namespace: ns, name: 'b', body: { ...current, data: { value: 'Yw==' } } });
    await eventually(() => drift.some((e) => e.type === 'modified' && e.ref.name === 'b'));
  });

  it('an object followed while the cache knows only its name is fetched once, so drift compares with what it was; unfollowed, its content is let go a while later', async () => {
    const ns = uniqueName('fill');
    const { watchCache, sink, cacheRequests, clock } = cacheAndSink();
    await sink.apply([namespace(ns), secret(ns, 'own', 'YQ==')]);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'other' }, data: { value: 'Yg==' } } });
    const stopOwn = sink.watch([ref(ns, 'own')], () => undefined);
    cleanups.push(async () => stopOwn());
    await eventually(() => watchCache.stats().watches === 1 && watchCache.stats().held === 1);
    const held = watchCache.stats().held;

    // Followed without being read first (a sink resuming its watch from its inventory).
    const drift: DriftEvent[] = [];
    const stop = sink.watch([ref(ns, 'other')], (e) => drift.push(e));
    await eventually(() => watchCache.stats().held === held + 1);
    expect(cacheRequests.filter((r) => r.method === 'GET' && r.path.endsWith(`/namespaces/${ns}/secrets/other`))).toHaveLength(1);
    const current = await core.readNamespacedSecret({ namespace: ns, name: 'other' });
    await core.replaceNamespacedSecret({ namespace: ns, name: 'other', body: { ...current, data: { value: 'Yw==' } } });
    await eventually(() => drift.some((e) => e.type === 'modified' && e.ref.name === 'other'));

    stop();
    expect(watchCache.stats().held).toBe(held + 1);
    await clock.advance(60_000);
    expect(watchCache.stats().held).toBe(held);
  });
});
