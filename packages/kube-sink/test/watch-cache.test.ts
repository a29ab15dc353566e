import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { openWatches } from '@converge/kube-testenv';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { createReconciler } from '@converge/core';
import type { KubeObject, Reconciler, ReconcileEvent } from '@converge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransport, createWatchCache, kubeSink, sharedWatchCache } from '../src/index.js';
import type { KubeRequestInfo, KubeSink, KubeTransport } from '../src/index.js';
import { crd, desiredState, eventually, namespace, recordingSink, uniqueName } from './helpers.js';

// A kind of this file's own, so the API server's count of watches on it is this file's alone
// (other test files share the control plane and watch ConfigMaps and Namespaces too).
const group = `${uniqueName('w')}.converge.test`;
const plural = 'gadgets';
let kc: KubeConfig;
let custom: CustomObjectsApi;

const gadget = (ns: string, name: string, size: number): KubeObject => ({ apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name, namespace: ns }, spec: { size } });
const gadgetWatches = (): Promise<number> => openWatches(kc, { group, resource: plural });

beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
  custom = kc.makeApiClient(CustomObjectsApi);
  const setup = kubeSink({ kubeConfig: kc, cacheReads: false });
  const [r] = await setup.apply([crd(group, 'Gadget', plural)]);
  expect(r?.ok).toBe(true);
  await setup.close();
});

interface App {
  ns: string;
  reconciler: Reconciler;
  events: ReconcileEvent[];
  sink: KubeSink;
}

/** An app in pull mode: its own namespace, three gadgets, its own sink on the same KubeConfig object. */
async function startApp(name: string): Promise<App> {
  const ns = uniqueName(name);
  const sink = kubeSink({ kubeConfig: kc, fieldManager: `converge-${name}`, inventory: { namespace: ns }, watch: { debounceMs: 50 } });
  const state = desiredState([namespace(ns), gadget(ns, 'a', 1), gadget(ns, 'b', 1), gadget(ns, 'c', 1)]);
  const reconciler = createReconciler({ name, source: state.source, render: state.render, sink, intervalMs: 3_600_000 });
  const events: ReconcileEvent[] = [];
  reconciler.on('*', (e) => events.push(e));
  reconciler.start();
  await eventually(() => events.some((e) => e.type === 'pass.succeeded'));
  return { ns, reconciler, events, sink };
}

const drifts = (app: App): string[] => app.events.flatMap((e) => (e.type === 'drift.detected' ? [e.ref.name] : []));

async function edit(ns: string, name: string, size: number): Promise<void> {
  const live = (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, name })) as KubeObject;
  await custom.replaceNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, name, body: { ...live, spec: { size } } });
}

describe('shared watches', () => {
  const apps: App[] = [];
  afterAll(async () => {
    for (const app of apps) {
      await app.reconciler.stop();
      await app.sink.close();
    }
  });

  it('N reconcilers with their own sinks on one KubeConfig open one watch per kind; drift reaches only its app; the last to leave closes it', async () => {
    for (const name of ['one', 'two', 'three', 'four', 'five']) apps.push(await startApp(name));
    const cache = sharedWatchCache(kc);
    await eventually(async () => (await gadgetWatches()) === 1);
    // Namespace, Gadget: one watch each for five apps (per-app watches were 5 × 2).
    expect(cache.stats()).toMatchObject({ watches: 2, informers: 2, subscriptions: 5 });
    expect(await gadgetWatches()).toBe(1);

    const [one, two, three] = apps as [App, App, App, ...App[]];
    await edit(two.ns, 'b', 7);
    await eventually(() => drifts(two).includes('b'));
    // The drift pass puts it back.
    await eventually(async () => ((await custom.getNamespacedCustomObject({ group, version: 'v1', namespace: two.ns, plural, name: 'b' })) as KubeObject)['spec']?.['size' as never] === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(apps.filter((a) => a !== two).flatMap(drifts)).toEqual([]);

    // Stopping one app leaves the others' drift detection running.
    await one.reconciler.stop();
    await edit(three.ns, 'c', 9);
    await eventually(() => drifts(three).includes('c'));
    expect(drifts(one)).toEqual([]);
    expect(await gadgetWatches()).toBe(1);

    for (const app of apps) await app.reconciler.stop();
    await eventually(async () => (await gadgetWatches()) === 0);
    expect(cache.stats()).toMatchObject({ watches: 0, informers: 0, subscriptions: 0 });
  });
});

describe('watch cache reads', () => {
  it('a read after our own write never returns an older resourceVersion, and an idle read sends no request', async () => {
    const ns = uniqueName('fence');
    const { sink, requests } = recordingSink(kc, { inventory: { namespace: ns } });
    await sink.apply([namespace(ns), gadget(ns, 'g', 0)]);
    const ref = { group, kind: 'Gadget', namespace: ns, name: 'g' };
    const stop = sink.watch([ref], () => undefined);
    try {
      await eventually(() => sharedWatchCache(kc).stats().watches >= 1);
      for (let size = 1; size <= 15; size++) {
        const [applied] = await sink.apply([gadget(ns, 'g', size)]);
        const [live] = await sink.get([ref]);
        expect(applied?.ok && live?.metadata.resourceVersion).toBe(applied?.ok && applied.object.metadata.resourceVersion);
        expect(live?.['spec']).toEqual({ size });
      }
      // Once the watch has seen the last write, reads come from the cache.
      await new Promise((r) => setTimeout(r, 300));
      const before = requests.length;
      const [live] = await sink.get([ref]);
      expect(live?.['spec']).toEqual({ size: 15 });
      expect(live?.metadata.managedFields).toBeUndefined();
      expect(requests.length).toBe(before);
    } finally {
      stop();
      await sink.close();
    }
  });
});

describe('list and watch', () => {
  it('keeps no LIST answer as sent while its watch runs: only the stored objects, without managedFields', async () => {
    const ns = uniqueName('listed');
    const setup = kubeSink({ kubeConfig: kc, cacheReads: false });
    await setup.apply([namespace(ns), gadget(ns, 'g', 0)]);
    const real = createTransport(kc);
    let listed: WeakRef<object> | undefined;
    // Remembers (weakly) what the cache does not store of the first LIST of gadgets: the managedFields as the server sent them.
    const transport: KubeTransport = {
      server: real.server,
      request: async <T,>(req: Parameters<KubeTransport['request']>[0]): Promise<T> => {
        const answer = await real.request<T>(req);
        const items = (answer as { items?: KubeObject[] }).items;
        if (!listed && req.path.endsWith(`/${plural}`) && req.query?.['limit'] === 500 && items?.[0]?.metadata.managedFields) listed = new WeakRef(items[0].metadata.managedFields);
        return answer;
      },
      stream: (req, onValue) => real.stream(req, onValue),
      close: () => real.close(),
    };
    const watchCache = createWatchCache({ transport });
    const sink = kubeSink({ kubeConfig: kc, watchCache });
    const stop = sink.watch([{ group, kind: 'Gadget', namespace: ns, name: 'g' }], () => undefined);
    try {
      await eventually(() => listed !== undefined && watchCache.stats().watches === 1);
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      await eventually(() => {
        gc();
        return listed?.deref() === undefined;
      });
      expect(watchCache.stats().objects).toBeGreaterThan(0);
    } finally {
      stop();
      await sink.close();
      await watchCache.close();
      await setup.close();
    }
  });

  it('resumes a watch the server ends from the last resourceVersion (no relist), and relists on 410 Gone', async () => {
    const ns = uniqueName('relist');
    const setup = kubeSink({ kubeConfig: kc, cacheReads: false });
    await setup.apply([namespace(ns), gadget(ns, 'g', 0)]);
    const requests: KubeRequestInfo[] = [];
    const real = createTransport(kc, { onRequest: (r) => requests.push(r) });
    let expire = true;
    // The first watch asks for a resourceVersion etcd has long compacted away: the server answers 410.
    const transport: KubeTransport = {
      server: real.server,
      request: (req) => real.request(req),
      stream: (req, onValue) => {
        if (!expire) return real.stream(req, onValue);
        expire = false;
        return real.stream({ ...req, query: { ...req.query, resourceVersion: '1' } }, onValue);
      },
      close: () => real.close(),
    };
    const watchCache = createWatchCache({ transport, watchTimeoutSeconds: 1 });
    const sink = kubeSink({ kubeConfig: kc, watchCache, watch: { debounceMs: 50 } });
    const events: string[] = [];
    const stop = sink.watch([{ group, kind: 'Gadget', namespace: ns, name: 'g' }], (e) => events.push(`${e.type} ${e.ref.name}`));
    try {
      const lists = (): number => requests.filter((r) => r.path.startsWith(`/apis/${group}/v1/${plural}?`) && r.path.includes('limit=500')).length;
      const watches = (): number => requests.filter((r) => r.path.includes(`/${plural}?`) && r.path.includes('watch=true')).length;
      // 410 on the first watch: a second LIST, then a watch that holds.
      await eventually(() => lists() === 2 && watchCache.stats().watches === 1);
      // The server ends each watch after 1 s; the cache reopens it without listing again.
      await eventually(() => watches() >= 4, 15_000);
      expect(lists()).toBe(2);
      await edit(ns, 'g', 5);
      await eventually(() => events.includes('modified g'));
    } finally {
      stop();
      await sink.close();
      await watchCache.close();
      await setup.close();
    }
  });
});
