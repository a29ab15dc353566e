import { SourceError, yamlFiles, type Source } from '@converge/core';
import { FakeClock, MemorySink, memorySource, seededRandom } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { createFleet, type FleetEvent } from '../src/index.js';
import { setShard } from './support/set-shard.js';

/**
 * A bad day for a fleet with maxConcurrentPasses: storms of fleet and application triggers,
 * reconcile() calls (some given up), suspendApp / resumeApp, spec files removed and put back,
 * applications handed to another replica and back, stop and start, on a fake clock, with
 * passes that succeed, fail, throw, hang until aborted or take a while. Reproduce a failure with
 * STRESS_SEED=<seed>; STRESS_RUNS and STRESS_STEPS make it longer.
 */
const APPS = ['a', 'b', 'c', 'd', 'e'];
const MAX = 2;
/** A child's pass deadline: createReconciler's default (a fleet sets none of its own). */
const PASS_TIMEOUT_MS = 600_000;
const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\ndata: { value: "${v}" }\n`;
const cm2 = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra }\ndata: { value: "1" }\n';

type Mode = 'ok' | 'fail' | 'throw' | 'hang' | 'slow';

async function storm(seed: number, steps: number): Promise<string[]> {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const clock = new FakeClock();
  const violations: string[] = [];
  const violate = (what: string) => violations.push(`t=${clock.now()} ${what}`);
  const sink = new MemorySink();
  const specs = memorySource(Object.fromEntries(APPS.map((a) => [`apps/${a}.yaml`, `namespace: ${a}\n`])));
  const repos = new Map(APPS.map((a) => [a, memorySource({ 'app/cm.yaml': cm('1'), 'app/extra.yaml': cm2 })]));
  const inSource = new Map<string, number>();
  let modes: Mode[] = ['ok', 'ok', 'ok', 'ok', 'fail', 'throw', 'hang', 'slow', 'slow'];
  const sourceOf = (app: string): Source => {
    const repo = repos.get(app)!;
    return {
      id: `app-${app}`,
      latestRevision(o = {}) {
        const mode = pick(modes);
        if (mode === 'throw') throw new Error(`${app}: the source blew up`);
        if (mode === 'fail') return Promise.reject(new SourceError('SIMULATED', `${app}: the source failed`, { data: { retryable: true } }));
        if (mode === 'ok') return repo.latestRevision(o);
        inSource.set(app, (inSource.get(app) ?? 0) + 1);
        let ended = false;
        const done = () => {
          if (!ended) inSource.set(app, (inSource.get(app) ?? 1) - 1);
          ended = true;
        };
        return new Promise<string>((resolve, reject) => {
          const timer = mode === 'slow' ? clock.setTimeout(() => (done(), resolve(repo.latestRevision(o))), 1 + Math.floor(rnd() * 3_000)) : undefined;
          const onAbort = () => {
            if (timer !== undefined) clock.clearTimeout(timer);
            done();
            reject(o.signal?.reason);
          };
          if (o.signal?.aborted) onAbort();
          else o.signal?.addEventListener('abort', onAbort, { once: true });
        });
      },
      fetch: (revision, o) => repo.fetch(revision, o),
    };
  };
  const owned = new Set([...APPS, 'fleet:f']);
  const { shard, fleet: attached } = setShard(owned);
  const fleet = createFleet({
    name: 'f',
    source: specs,
    path: 'apps',
    sink,
    clock,
    shard,
    maxConcurrentPasses: MAX,
    intervalMs: 20_000,
    jitter: 0,
    appDefaults: { intervalMs: 10_000, jitter: 0, prune: true },
    createApp: (spec) => ({ source: sourceOf(spec.name), render: yamlFiles({ path: 'app' }) }),
  });

  const running = new Map<string, { deletes: number }>();
  let quiet = false;
  let epoch = 0;
  const deletesIn = (app: string) => sink.calls.filter((c) => c.op === 'delete' && !c.dryRun && c.refs.some((r) => r.namespace === app)).length;
  // The fleet stops forwarding a child's events once it lets go of it (spec removed or changed,
  // shard release), before the child's last pass ends: each child is also listened to directly.
  const seenEvents = new WeakSet<object>();
  const seenChildren = new WeakSet<object>();
  const listenToChildren = () => {
    for (const a of APPS) {
      const child = fleet.app(a);
      if (child && !seenChildren.has(child)) {
        seenChildren.add(child);
        child.on('*', (e) => onEvent(e));
      }
    }
  };
  fleet.on('*', (e) => {
    onEvent(e);
    listenToChildren();
  });
  function onEvent(e: FleetEvent): void {
    if (seenEvents.has(e)) return;
    seenEvents.add(e);
    if (!('reconciler' in e) || !e.reconciler.startsWith('f-')) return;
    const app = e.reconciler.slice(2);
    if (e.type === 'pass.started') {
      if (running.has(app)) violate(`${app}: a pass started while one runs`);
      if (quiet) violate(`${app}: a pass started after stop() resolved`);
      running.set(app, { deletes: deletesIn(app) });
      // A removed application's teardown is the fleet's own work and takes no slot.
      const bounded = [...running.keys()].filter((a) => fleet.app(a) !== undefined).length;
      if (bounded > MAX) violate(`${bounded} application passes running, more than ${MAX}`);
    } else if (e.type === 'pass.succeeded' || e.type === 'pass.failed') {
      const at = running.get(app);
      if (!at) violate(`${app}: ${e.type} without pass.started`);
      else if (e.type === 'pass.failed' && deletesIn(app) > at.deletes) violate(`${app}: a failed pass pruned`);
      running.delete(app);
    }
  }
  const calls: { settled: boolean; abort: AbortController }[] = [];
  const track = (promise: Promise<unknown>, abort = new AbortController()) => {
    const entry = { settled: false, abort };
    calls.push(entry);
    promise.then(
      () => (entry.settled = true),
      (e: unknown) => {
        entry.settled = true;
        violate(`a reconcile() rejected: ${String(e)}`);
      },
    );
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };

  fleet.start();
  for (let step = 0; step < steps && violations.length === 0; step++) {
    for (let burst = 1 + Math.floor(rnd() * 3); burst > 0; burst--) {
      const app = pick(APPS);
      const action = pick(['fleetTrigger', 'fleetReconcile', 'trigger', 'reconcile', 'abortCall', 'suspend', 'resume', 'removeSpec', 'addSpec', 'release', 'own', 'edit', 'stop', 'start', 'advance', 'advance', 'advance', 'longAdvance']);
      switch (action) {
        case 'fleetTrigger':
          epoch++, (quiet = false);
          fleet.trigger();
          break;
        case 'fleetReconcile':
          epoch++, (quiet = false);
          track(fleet.reconcile());
          break;
        case 'trigger':
          if (fleet.app(app)) epoch++, (quiet = false);
          fleet.app(app)?.trigger();
          break;
        case 'reconcile': {
          const child = fleet.app(app);
          if (!child) break;
          epoch++, (quiet = false);
          const abort = new AbortController();
          track(child.reconcile({ signal: abort.signal }), abort);
          break;
        }
        case 'abortCall': {
          const pending = calls.filter((c) => !c.settled);
          if (pending.length > 0) pick(pending).abort.abort(new DOMException('the caller gave up', 'AbortError'));
          break;
        }
        case 'suspend':
          void fleet.suspendApp(app);
          break;
        case 'resume':
          void fleet.resumeApp(app);
          break;
        case 'removeSpec':
          specs.remove(`apps/${app}.yaml`);
          break;
        case 'addSpec':
          specs.write(`apps/${app}.yaml`, `namespace: ${app}\n`);
          break;
        case 'release':
          owned.delete(app);
          void attached()?.release([app]);
          break;
        case 'own':
          owned.add(app);
          attached()?.changed();
          break;
        case 'edit':
          if (rnd() < 0.5) repos.get(app)!.remove('app/extra.yaml');
          else repos.get(app)!.write('app/extra.yaml', cm2);
          break;
        case 'stop': {
          const at = epoch;
          void fleet.stop().then(() => {
            if (epoch === at) quiet = true;
          });
          break;
        }
        case 'start':
          epoch++, (quiet = false);
          fleet.start();
          break;
        case 'advance':
          void clock.advance(Math.floor(rnd() * 4_000));
          break;
        case 'longAdvance':
          void clock.advance(Math.floor(rnd() * PASS_TIMEOUT_MS));
          break;
      }
    }
    await settle();
  }

  // Wind down, then show that every slot is free: with every source parked, MAX passes are in their source at once.
  for (const c of calls) c.abort.abort(new DOMException('wind down', 'AbortError'));
  const stopped = fleet.stop();
  for (let i = 0; i < 10; i++) await clock.advance(PASS_TIMEOUT_MS);
  await settle();
  if (!(await Promise.race([stopped.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1_000))]))) violate('fleet.stop() did not resolve');
  const unsettled = calls.filter((c) => !c.settled).length;
  if (unsettled > 0) violate(`${unsettled} reconcile() calls never settled`);
  if (running.size > 0) violate(`passes still running after stop: ${[...running.keys()]}`);
  if ([...inSource.values()].some((n) => n !== 0)) violate(`source calls left in flight: ${JSON.stringify([...inSource])}`);
  if (violations.length > 0) return violations;
  modes = ['hang'];
  for (const a of APPS) {
    owned.add(a);
    specs.write(`apps/${a}.yaml`, `namespace: ${a}\n`);
    void fleet.resumeApp(a);
  }
  quiet = false;
  fleet.start();
  for (let i = 0; i < 4; i++) {
    await clock.flush();
    await settle();
  }
  const parked = [...inSource.values()].reduce((n, v) => n + v, 0);
  if (parked !== MAX) violate(`after everything settled, ${parked} passes could run at once instead of ${MAX} (a slot leaked)`);
  const last = fleet.stop();
  for (let i = 0; i < 10; i++) await clock.advance(PASS_TIMEOUT_MS);
  await last;
  return violations;
}

describe('a fleet with maxConcurrentPasses under a storm of operations', () => {
  const seeds = process.env.STRESS_SEED ? [Number(process.env.STRESS_SEED)] : Array.from({ length: Number(process.env.STRESS_RUNS ?? 10) }, () => Math.floor(Math.random() * 2 ** 31));
  it.each(seeds)('holds every invariant (seed %i)', async (seed) => {
    expect(await storm(seed, Number(process.env.STRESS_STEPS ?? 250)), `reproduce with STRESS_SEED=${seed}`).toEqual([]);
  });
});
