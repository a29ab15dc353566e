import { isDeepStrictEqual } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { ConvergeError, DriftEvent, KubeObject, ObjectRef } from '@converge/core';
import { createReconciler } from '@converge/core';
import { FakeClock } from '@converge/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeHttpError, createTransport, createWatchCache, kubeSink } from '../src/index.js';
import type { KubeRequest, KubeSink, KubeTransport, WatchCache } from '../src/index.js';
import { heapHolds, randomValue } from './heap-search.js';
import { desiredState, eventLog, eventually, namespace, secret, secretRef as ref, uniqueName } from './helpers.js';

let kc: KubeConfig;
let core: CoreV1Api;
const cleanups: (() => unknown)[] = [];
beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** One GET the cache sent, whose answer the test hands over when it chooses. */
interface HeldAnswer {
  /** The server has answered (the answer is as old as this moment). */
  answered: boolean;
  /** Hands the answer to the cache and lets the code waiting on it run. */
  release(): Promise<void>;
}

interface DeliveredEvent {
  type: string;
  namespace: string | undefined;
  name: string;
  resourceVersion: string | undefined;
}

/**
 * The real transport with faults a test switches on: answers to GETs held back (sent at once,
 * answered by the server at once, handed over later), a failure instead of the next matching
 * request, and watch events held back. Records every watch event it hands to the cache.
 */
function faultyTransport(): {
  transport: KubeTransport;
  holdAnswers(match: (req: KubeRequest) => boolean): HeldAnswer[];
  failNext(match: (req: KubeRequest) => boolean, error: Error): void;
  holdEvents(): void;
  releaseEventsThrough(match: (event: DeliveredEvent) => boolean): void;
  releaseEvents(): void;
  /** The watch events held back, oldest first. */
  heldEvents(): DeliveredEvent[];
  /** The next watch value becomes a `410 Gone` (the events held back are lost): the cache lists again. */
  expireNext(): void;
  delivered: DeliveredEvent[];
  /** Every request sent (not watches). */
  requests: KubeRequest[];
} {
  const real = createTransport(kc);
  const holds: { match: (req: KubeRequest) => boolean; held: HeldAnswer[] }[] = [];
  const failures: { match: (req: KubeRequest) => boolean; error: Error }[] = [];
  const delivered: DeliveredEvent[] = [];
  const requests: KubeRequest[] = [];
  let eventsHeld = false;
  let expireWatch = false;
  const buffered: { value: unknown; deliver: (value: unknown) => void }[] = [];
  const summary = (value: unknown): DeliveredEvent => {
    const e = value as { type: string; object: KubeObject };
    return { type: e.type, namespace: e.object.metadata?.namespace, name: e.object.metadata?.name, resourceVersion: e.object.metadata?.resourceVersion as string | undefined };
  };
  const deliver = (value: unknown, onValue: (value: unknown) => void): void => {
    delivered.push(summary(value));
    onValue(value);
  };
  const transport: KubeTransport = {
    server: real.server,
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req);
      const failure = failures.findIndex((f) => f.match(req));
      if (failure >= 0) throw failures.splice(failure, 1)[0]!.error;
      const hold = holds.find((h) => h.match(req));
      if (!hold) return real.request<T>(req);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const handle: HeldAnswer = {
        answered: false,
        async release() {
          release();
          // The cache's code after the answer runs in microtasks: one macrotask later it is done.
          await new Promise((resolve) => setTimeout(resolve, 20));
        },
      };
      hold.held.push(handle);
      const answer = real.request<T>(req).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      const settled = await answer;
      handle.answered = true;
      await released;
      if ('error' in settled) throw settled.error;
      return settled.value;
    },
    stream: (req, onValue) =>
      real.stream(req, (value) => {
        if (expireWatch) {
          // What the server sends when the watch's resourceVersion was compacted away.
          expireWatch = false;
          eventsHeld = false;
          buffered.length = 0;
          onValue({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' } });
        } else if (eventsHeld) buffered.push({ value, deliver: onValue });
        else deliver(value, onValue);
      }),
    close: () => real.close(),
  };
  const releaseWhile = (more: (event: DeliveredEvent) => boolean): void => {
    while (buffered.length > 0) {
      const next = buffered.shift()!;
      deliver(next.value, next.deliver);
      if (!more(summary(next.value))) return;
    }
  };
  return {
    transport,
    delivered,
    requests,
    holdAnswers(match) {
      const held: HeldAnswer[] = [];
      holds.push({ match, held });
      return held;
    },
    failNext(match, error) {
      failures.push({ match, error });
    },
    holdEvents() {
      eventsHeld = true;
    },
    releaseEventsThrough(match) {
      releaseWhile((e) => !match(e));
    },
    releaseEvents() {
      eventsHeld = false;
      releaseWhile(() => true);
    },
    expireNext() {
      expireWatch = true;
    },
    heldEvents: () => buffered.map((b) => summary(b.value)),
  };
}

/** A plain GET of one Secret (not a LIST, not a watch). */
const getOf =
  (ns: string, name: string) =>
  (req: KubeRequest): boolean =>
    req.method === 'GET' && req.path.endsWith(`/namespaces/${ns}/secrets/${name}`) && !req.query?.['watch'];

interface Harness {
  faults: ReturnType<typeof faultyTransport>;
  /** The cache's clock: claims end, and fetches are retried, when the test moves it. */
  clock: FakeClock;
  watchCache: WatchCache;
  sink: KubeSink;
  errors: ConvergeError[];
}

/** A watch cache on a faulty transport and a fake clock, and a sink on it (the sink's own requests go straight to the server). */
function harness(): Harness {
  const faults = faultyTransport();
  const clock = new FakeClock(Date.now());
  const errors: ConvergeError[] = [];
  const watchCache = createWatchCache({ transport: faults.transport, clock });
  const sink = kubeSink({ kubeConfig: kc, watchCache, force: true, watch: { debounceMs: 50, onError: (e) => errors.push(e) } });
  cleanups.push(
    () => faults.transport.close(),
    () => watchCache.close(),
    () => sink.close(),
  );
  return { faults, clock, watchCache, sink, errors };
}

/**
 * Creates namespace `ns` with the sink's Secret `anchor` (and `more`), and follows the anchor,
 * so the cache watches Secrets for the rest of the test.
 */
async function watching(h: Harness, ns: string, more: KubeObject[] = []): Promise<void> {
  const applied = await h.sink.apply([namespace(ns), secret(ns, 'anchor', b64('anchor')), ...more]);
  expect(applied.every((r) => r.ok)).toBe(true);
  cleanups.push(h.sink.watch([ref(ns, 'anchor')], () => undefined));
  await eventually(() => h.watchCache.stats().watches === 1 && h.watchCache.stats().held === 1, 20_000);
}

/** Follows `name` until the cache holds it, then stops: the cache knows it by name only once the claim that leaves behind ends. */
async function followOnce(h: Harness, ns: string, name: string): Promise<void> {
  const before = h.watchCache.stats().held;
  const stop = h.sink.watch([ref(ns, name)], () => undefined);
  await eventually(() => h.watchCache.stats().watches >= 1 && h.watchCache.stats().held === before + 1, 20_000);
  stop();
  await h.clock.advance(10 * 60_000);
  expect(h.watchCache.stats().held).toBe(before);
}

/** Follows `refs` with `sink` until the test ends; returns the drift reported, as it comes. */
function driftOf(sink: KubeSink, refs: ObjectRef[]): DriftEvent[] {
  const drift: DriftEvent[] = [];
  cleanups.push(sink.watch(refs, (e) => drift.push(e)));
  return drift;
}

/** Somebody else changes the Secret's value; returns the new resourceVersion. */
async function foreignEdit(ns: string, name: string, value: string): Promise<string> {
  const current = await core.readNamespacedSecret({ namespace: ns, name });
  const replaced = await core.replaceNamespacedSecret({ namespace: ns, name, body: { ...current, data: { value } } });
  return replaced.metadata!.resourceVersion!;
}

/** Waits until the cache's watch has delivered `name` at `resourceVersion`. */
async function delivered(h: Harness, ns: string, name: string, resourceVersion: string): Promise<void> {
  await eventually(() => h.faults.delivered.some((e) => e.namespace === ns && e.name === name && e.resourceVersion === resourceVersion), 20_000);
}

async function valueOf(sink: KubeSink, ns: string, name: string): Promise<unknown> {
  const [live] = await sink.get([ref(ns, name)]);
  return (live?.data as Record<string, unknown> | undefined)?.['value'];
}

describe('watch cache content policy under races and faults', () => {
  it('a fetch answered after the object changed while nobody followed it is not taken for the current object: no stale read, the drift is reported', async () => {
    const ns = uniqueName('refill');
    const h = harness();
    await watching(h, ns, [secret(ns, 'x', b64('ours'))]);
    await followOnce(h, ns, 'x');

    // Followed again, its fetch answered by the server but not handed over yet; unfollowed.
    const fetches = h.faults.holdAnswers(getOf(ns, 'x'));
    const stopFirst = h.sink.watch([ref(ns, 'x')], () => undefined);
    await eventually(() => fetches[0]?.answered === true, 20_000);
    stopFirst();
    await h.clock.advance(10 * 60_000);
    // Somebody else changes it while nobody follows it; the cache sees the change (by name).
    await delivered(h, ns, 'x', await foreignEdit(ns, 'x', b64('theirs')));
    // Followed once more: a second fetch. The first one's (older) answer arrives first.
    const drift = driftOf(h.sink, [ref(ns, 'x')]);
    await eventually(() => fetches[1]?.answered === true, 20_000);
    await fetches[0]!.release();
    await fetches[1]!.release();

    expect(await valueOf(h.sink, ns, 'x')).toBe(b64('theirs'));
    await eventually(() => drift.some((e) => e.type === 'modified'), 5_000);
  });

  it("a fetch newer than the watch (which lags) does not let an older watch event pass for the sink's own write", async () => {
    const ns = uniqueName('lag');
    const h = harness();
    await watching(h, ns, [secret(ns, 'y', b64('first'))]);
    await followOnce(h, ns, 'y');

    // The watch lags: somebody else's change, then the sink's own write, both not yet seen.
    h.faults.holdEvents();
    const theirs = await foreignEdit(ns, 'y', b64('theirs'));
    const [applied] = await h.sink.apply([secret(ns, 'y', b64('ours'))]);
    expect(applied?.ok).toBe(true);
    const ours = applied?.ok ? applied.object.metadata.resourceVersion : undefined;
    await eventually(() => h.faults.heldEvents().some((e) => e.namespace === ns && e.name === 'y' && e.resourceVersion === ours), 20_000);
    // Followed now: fetched from the server, which already has the sink's write.
    const fetches = h.faults.holdAnswers(getOf(ns, 'y'));
    const stop = h.sink.watch([ref(ns, 'y')], () => undefined);
    cleanups.push(stop);
    await eventually(() => fetches[0]?.answered === true, 20_000);
    await fetches[0]!.release();
    // The watch catches up by one event: somebody else's change, older than the sink's write.
    h.faults.releaseEventsThrough((e) => e.namespace === ns && e.name === 'y' && e.resourceVersion === theirs);

    expect(await valueOf(h.sink, ns, 'y')).toBe(b64('ours'));
    h.faults.releaseEvents();
  });

  it('a fetch that fails is retried: drift that happened while the object was not followed is still reported, and the error withholds the Secret', async () => {
    const ns = uniqueName('fillfail');
    const h = harness();
    await watching(h, ns, [secret(ns, 'z', b64('ours'))]);
    await followOnce(h, ns, 'z');
    await delivered(h, ns, 'z', await foreignEdit(ns, 'z', b64('theirs')));

    // The server fails the fetch once, with the Secret's value in its message.
    const leak = b64('theirs');
    h.faults.failNext(getOf(ns, 'z'), new KubeHttpError(500, { kind: 'Status', status: 'Failure', code: 500, reason: 'InternalError', message: `boom ${leak}` } as never, ''));
    const drift = driftOf(h.sink, [ref(ns, 'z')]);

    await eventually(() => h.errors.length > 0, 20_000);
    for (const error of h.errors) expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(leak);
    await h.clock.advance(60_000);
    await eventually(() => drift.some((e) => e.type === 'modified'), 20_000);
  });

  it("a Secret a sink read but does not follow is let go after a while: later values of another team's Secret are not kept", async () => {
    const ns = uniqueName('claim');
    const h = harness();
    await watching(h, ns);
    const created = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'foreign' }, data: { value: b64('v1') } } });
    await delivered(h, ns, 'foreign', created.metadata!.resourceVersion!);

    // Read once (a plan that looked at it), never followed.
    expect(await valueOf(h.sink, ns, 'foreign')).toBe(b64('v1'));
    await h.clock.advance(10 * 60_000);

    // Changed by its team: the cache sees the change, and keeps none of it.
    const later = randomValue();
    await delivered(h, ns, 'foreign', await foreignEdit(ns, 'foreign', later.toString('latin1')));
    // The test's own client keeps the body of its last request (the value it sent) until its next
    // one: a request that brings the cache no Secret event. (The watch stream kept the last event's
    // line in its suspended frame until the next event came; it no longer does.)
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'flush' } } });
    expect(await heapHolds(later)).toBe(false);
    expect(h.watchCache.stats().held).toBe(1);
  });

  it('an app whose set of objects changes is not fetched again object by object when it follows the new set', async () => {
    const ns = uniqueName('refollow');
    const h = harness();
    await watching(h, ns);
    const state = desiredState([secret(ns, 's0', b64('0')), secret(ns, 's1', b64('1')), secret(ns, 's2', b64('2')), secret(ns, 's3', b64('3'))]);
    const reconciler = createReconciler({ name: ns, source: state.source, render: state.render, sink: h.sink, intervalMs: 3_600_000 });
    const events = eventLog();
    reconciler.on('*', events.push);
    cleanups.push(() => reconciler.stop());
    reconciler.start();
    const passes = (): number => events.events.filter((e) => e.type === 'pass.succeeded').length;
    await eventually(() => passes() === 1 && h.watchCache.stats().held === 5, 20_000);

    const fetches = (): KubeRequest[] => h.faults.requests.filter((r) => r.method === 'GET' && /\/secrets\/s\d$/.test(r.path));
    state.objects = [...state.objects, secret(ns, 's4', b64('4'))];
    reconciler.trigger();
    await eventually(() => passes() === 2 && h.watchCache.stats().held === 6, 20_000);
    expect(fetches().map((r) => r.path)).toEqual([]);
  });

  it('two sinks follow one object and one leaves: the other keeps its content and its drift', async () => {
    const ns = uniqueName('shared');
    const h = harness();
    await watching(h, ns, [secret(ns, 'w', b64('ours'))]);
    const other = kubeSink({ kubeConfig: kc, watchCache: h.watchCache, force: true, watch: { debounceMs: 50 } });
    cleanups.push(() => other.close());
    const stopFirst = h.sink.watch([ref(ns, 'w')], () => undefined);
    const drift = driftOf(other, [ref(ns, 'w')]);
    await eventually(() => h.watchCache.stats().held === 2, 20_000);
    const fetched = h.faults.requests.filter(getOf(ns, 'w')).length;
    stopFirst();
    await h.clock.advance(10 * 60_000);

    expect(h.watchCache.stats().held).toBe(2);
    expect(h.faults.requests.filter(getOf(ns, 'w'))).toHaveLength(fetched);
    await foreignEdit(ns, 'w', b64('theirs'));
    await eventually(() => drift.some((e) => e.type === 'modified'), 20_000);
  });

  it('a relist (410 Gone) that replaces missed events reports the drift they carried, and reads return what the LIST brought', async () => {
    const ns = uniqueName('relist');
    const h = harness();
    await watching(h, ns, [secret(ns, 'r', b64('ours')), secret(ns, 'm', b64('ours'))]);
    await followOnce(h, ns, 'm');
    const drift = driftOf(h.sink, [ref(ns, 'r')]);
    await eventually(() => h.watchCache.stats().held === 2, 20_000);

    // The watch misses both changes: its next value is a 410, and the cache lists again.
    h.faults.holdEvents();
    await foreignEdit(ns, 'r', b64('theirs'));
    await foreignEdit(ns, 'm', b64('theirs'));
    const lists = (): number => h.faults.requests.filter((r) => r.path.endsWith('/secrets') && !r.query?.['watch']).length;
    const listed = lists();
    h.faults.expireNext();
    await foreignEdit(ns, 'anchor', b64('next'));
    await eventually(() => lists() > listed && h.watchCache.stats().watches === 1, 20_000);

    await eventually(() => drift.some((e) => e.type === 'modified' && e.ref.name === 'r'), 20_000);
    expect(await valueOf(h.sink, ns, 'r')).toBe(b64('theirs'));
    // Known by name only across the relist: followed now, fetched, its drift reported.
    const driftM = driftOf(h.sink, [ref(ns, 'm')]);
    await eventually(() => driftM.some((e) => e.type === 'modified'), 20_000);
  });

  it('a change made between the read a pass planned with and the follow that comes after the pass is drift, for an object the pass did not write', async () => {
    const ns = uniqueName('gap');
    const h = harness();
    await watching(h, ns, [secret(ns, 'p', b64('ours')), secret(ns, 'q', b64('ours'))]);
    await followOnce(h, ns, 'p');
    // A sink of its own (an app added again): it read both, found them as desired, wrote nothing.
    const sink = kubeSink({ kubeConfig: kc, watchCache: h.watchCache, watch: { debounceMs: 50 } });
    cleanups.push(() => sink.close());
    expect(await sink.get([ref(ns, 'p'), ref(ns, 'q')])).toHaveLength(2);
    // Before it follows them, somebody changes one and deletes the other.
    await delivered(h, ns, 'p', await foreignEdit(ns, 'p', b64('theirs')));
    await core.deleteNamespacedSecret({ namespace: ns, name: 'q' });
    await eventually(() => h.faults.delivered.some((e) => e.type === 'DELETED' && e.namespace === ns && e.name === 'q'), 20_000);

    const drift = driftOf(sink, [ref(ns, 'p'), ref(ns, 'q')]);
    await eventually(() => drift.some((e) => e.type === 'modified' && e.ref.name === 'p') && drift.some((e) => e.type === 'deleted' && e.ref.name === 'q'), 10_000);
  });

  it('a fleet whose apps are removed and added again, their objects edited by others meanwhile, converges; nothing of others is pruned; what the cache holds ends with the apps', async () => {
    const base = uniqueName('fleet');
    const h = harness();
    await watching(h, base);
    const apps = [0, 1, 2, 3].map((i) => `${base}-${i}`);
    for (const ns of apps) {
      await h.sink.apply([namespace(ns)]);
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'foreign' }, data: { value: b64('theirs') } } });
    }
    const desired = (ns: string, round: number): KubeObject[] => [
      secret(ns, 'a', b64(`a${round}`)),
      secret(ns, 'b', b64('b')),
      ...(round % 2 === 0 ? [secret(ns, 'c', b64('c'))] : []),
    ];
    const live = async (ns: string): Promise<Record<string, unknown>> => {
      const list = await core.listNamespacedSecret({ namespace: ns });
      return Object.fromEntries(list.items.map((item) => [item.metadata!.name!, item.data?.['value']]));
    };
    const expected = (ns: string, round: number): Record<string, unknown> => ({
      foreign: b64('theirs'),
      ...Object.fromEntries(desired(ns, round).map((o) => [o.metadata.name, (o['data'] as Record<string, string>)['value']])),
    });

    for (let round = 0; round < 3; round++) {
      const running = apps.map((ns) => {
        const sink = kubeSink({ kubeConfig: kc, watchCache: h.watchCache, fieldManager: ns, inventory: { namespace: ns }, watch: { debounceMs: 50 } });
        const state = desiredState(desired(ns, round));
        const reconciler = createReconciler({ name: ns, source: state.source, render: state.render, sink, prune: true, intervalMs: 3_600_000 });
        reconciler.start();
        return { ns, sink, reconciler };
      });
      // Others edit the apps' objects while their first passes run.
      await Promise.all(apps.map((ns) => foreignEdit(ns, 'b', b64('edited')).catch(() => undefined)));
      for (const { ns } of running) await eventually(async () => isDeepStrictEqual(await live(ns), expected(ns, round)), 30_000);
      // And once they follow them: drift, put back.
      await Promise.all(apps.map((ns) => foreignEdit(ns, 'a', b64('edited'))));
      for (const { ns } of running) await eventually(async () => isDeepStrictEqual(await live(ns), expected(ns, round)), 30_000);
      for (const { reconciler, sink } of running) {
        await reconciler.stop();
        await sink.close();
      }
    }

    // Every app gone: once the claims they left end, the cache holds the anchor alone.
    await h.clock.advance(10 * 60_000);
    expect(h.watchCache.stats()).toMatchObject({ held: 1, subscriptions: 1 });
  });
});
