import { afterEach, describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import { InvalidOptionsError, SinkError } from '../../src/errors.js';
import type { ReconcileEvent } from '../../src/events.js';
import { createReconciler, type Reconciler, type ReconcilerOptions } from '../../src/reconciler.js';
import { exponentialBackoff } from '../../src/retry-policy.js';
import { Semaphore } from '../../src/semaphore.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { memorySource } from '../../src/testing/memory-source.js';
import { nextEvent } from '../../src/testing/next-event.js';
import type { Source } from '../../src/source.js';
import { yamlFiles } from '../../src/yaml-files.js';
import { configMap, fixtureRepo } from './fixture-repo.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

/** A pull-mode reconciler of one ConfigMap on a fake clock: every 60 s, no jitter, backoff 1-8 s; `options` override. */
function loop(options: Partial<ReconcilerOptions> = { intervalMs: 60_000 }, files: Record<string, string> = { 'a.yaml': configMap('a', '1') }) {
  const repo = fixtureRepo(files);
  const clock = new FakeClock(1_000_000);
  const sink = new MemorySink();
  const reconciler: Reconciler = createReconciler({
    name: 'loop',
    source: directorySource(repo.root),
    render: yamlFiles(),
    sink,
    prune: true,
    clock,
    jitter: 0,
    retry: exponentialBackoff({ initialMs: 1000, maxMs: 8000, jitter: 0 }),
    ...options,
  });
  const events: ReconcileEvent[] = [];
  reconciler.on('*', (e) => events.push(e));
  cleanups.push(() => reconciler.stop(), () => repo.dispose());
  const passes = () => events.filter((e) => e.type === 'pass.succeeded' || e.type === 'pass.failed');
  return { repo, clock, sink, reconciler, events, passes };
}

describe('start() loop', () => {
  it('runs a pass at start and then once per interval', async () => {
    const { clock, reconciler, passes } = loop();
    const first = nextEvent(reconciler, 'pass.succeeded');
    reconciler.start();
    await clock.flush();
    await first;
    expect(passes()).toHaveLength(1);
    expect(reconciler.status().nextRunAt).toBe(clock.now() + 60_000);

    const second = nextEvent(reconciler, 'pass.succeeded');
    await clock.advance(59_999);
    expect(passes()).toHaveLength(1);
    await clock.advance(1);
    await second;
    expect(passes()).toHaveLength(2);
  });

  it('backs off exponentially after failures, capped, and resets after a success', async () => {
    const { clock, sink, reconciler, events } = loop();
    sink.fail({ op: 'readInventory', times: 5 });
    const startedAt = clock.now();
    reconciler.start();
    const failureTimes: number[] = [];
    reconciler.on('pass.failed', () => failureTimes.push(clock.now() - startedAt));
    for (let i = 0; i < 6; i++) {
      const next = nextEvent(reconciler, i < 5 ? 'pass.failed' : 'pass.succeeded');
      await clock.advance(clock.nextAt! - clock.now());
      await next;
    }
    // Failures at 0, +1s, +2s, +4s, +8s (capped at 8s), then success 8s later.
    expect(failureTimes).toEqual([0, 1000, 3000, 7000, 15000]);
    expect(events.filter((e) => e.type === 'pass.failed').map((e) => (e as { retryInMs?: number }).retryInMs)).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(reconciler.status()).toMatchObject({ consecutiveFailures: 0, phase: 'idle' });
    expect(reconciler.status().nextRunAt).toBe(clock.now() + 60_000);
  });

  it('trigger() runs a pass now instead of waiting for the interval', async () => {
    const { clock, repo, sink, reconciler } = loop();
    const first = nextEvent(reconciler, 'pass.succeeded');
    reconciler.start();
    await clock.flush();
    await first;
    repo.write('a.yaml', configMap('a', '2'));
    const next = nextEvent(reconciler, 'pass.succeeded');
    reconciler.trigger('webhook');
    await clock.flush();
    expect((await next).counts.updated).toBe(1);
    expect((sink.objects()[0] as unknown as { data: { value: string } }).data.value).toBe('2');
    expect(reconciler.status().history.at(-1)).toMatchObject({ reason: 'webhook', result: 'succeeded' });
  });

  it('suspend() stops automatic passes and resume() runs one', async () => {
    const { clock, reconciler, passes, events } = loop();
    const first = nextEvent(reconciler, 'pass.succeeded');
    reconciler.start();
    await clock.flush();
    await first;
    reconciler.suspend();
    expect(reconciler.status()).toMatchObject({ phase: 'suspended', suspended: true });
    await clock.advance(10 * 60_000);
    expect(passes()).toHaveLength(1);
    expect((await reconciler.reconcile()).status).toBe('skipped');

    const resumed = nextEvent(reconciler, 'pass.succeeded');
    reconciler.resume();
    await clock.flush();
    await resumed;
    expect(passes()).toHaveLength(2);
    expect(events.map((e) => e.type)).toContain('resumed');
  });

  it('a drift reported by the sink triggers a pass that reverts it', async () => {
    const { clock, sink, reconciler } = loop();
    const first = nextEvent(reconciler, 'pass.succeeded');
    reconciler.start();
    await clock.flush();
    await first;
    const reverted = nextEvent(reconciler, 'pass.succeeded');
    const detected = nextEvent(reconciler, 'drift.detected', (e) => e.via === 'watch');
    sink.set({ ...sink.objects()[0]!, data: { value: 'hand edit' } });
    await clock.flush();
    expect((await detected).ref.name).toBe('a');
    expect((await reverted).driftCorrected).toBe(1);
    expect((sink.objects()[0] as unknown as { data: { value: string } }).data.value).toBe('1');
  });

  it('keeps a history of the last 10 passes', async () => {
    const { clock, reconciler } = loop({ intervalMs: 1000 });
    reconciler.start();
    for (let i = 0; i < 12; i++) {
      const next = nextEvent(reconciler, 'pass.succeeded');
      await clock.advance(clock.nextAt! - clock.now());
      await next;
    }
    const { history } = reconciler.status();
    expect(history).toHaveLength(10);
    expect(history.every((h) => h.result === 'succeeded')).toBe(true);
    expect(history[0]!.startedAt).toBeLessThan(history[9]!.startedAt);
  });

  it('stop() ends the loop: no timers left, no more passes', async () => {
    const { clock, reconciler, passes } = loop();
    reconciler.start();
    await clock.flush();
    await reconciler.stop();
    expect(clock.pending).toBe(0);
    const count = passes().length;
    await clock.advance(5 * 60_000);
    expect(passes()).toHaveLength(count);
    expect(reconciler.status().phase).toBe('stopped');
  });
});

describe('retry after a failed pass (the default policy)', () => {
  it('a failure that is not retryable (invalid YAML) is not retried with backoff: the next pass is the interval one, and it picks up the fix', async () => {
    const { clock, repo, reconciler, passes } = loop({ intervalMs: 60_000 }, { 'a.yaml': 'kind: [broken\n' });
    const failed = nextEvent(reconciler, 'pass.failed');
    reconciler.start();
    await clock.flush();
    const first = await failed;
    expect(first.error).toMatchObject({ code: 'YAML_SYNTAX', retryable: false });
    expect(first.retryInMs).toBeUndefined();
    expect(reconciler.status()).toMatchObject({ phase: 'idle', consecutiveFailures: 1, nextRunAt: clock.now() + 60_000 });

    await clock.advance(59_999); // the backoff would have run passes at +1 s, +3 s, +7 s, …
    expect(passes()).toHaveLength(1);
    repo.write('a.yaml', configMap('a', '2'));
    const fixed = nextEvent(reconciler, 'pass.succeeded');
    await clock.advance(1);
    await fixed;
    expect(reconciler.status().history.map((p) => `${p.reason}:${p.result}`)).toEqual(['start:failed', 'interval:succeeded']);
  });

  it('a sink failure marked retryable is retried with backoff, one marked not retryable waits for the interval', async () => {
    const { clock, sink, reconciler } = loop();
    sink.fail({ op: 'readInventory', error: new SinkError('UNAVAILABLE', 'the server is restarting', { data: { retryable: true } }) });
    sink.fail({ op: 'readInventory', error: new SinkError('FORBIDDEN', 'the identity may not read the inventory', { data: { retryable: false } }) });
    const retried = nextEvent(reconciler, 'pass.failed');
    reconciler.start();
    await clock.flush();
    expect((await retried).retryInMs).toBe(1000);
    expect(reconciler.status().phase).toBe('backoff');

    const notRetried = nextEvent(reconciler, 'pass.failed');
    await clock.advance(1000);
    const second = await notRetried;
    expect(second.error.code).toBe('FORBIDDEN');
    expect(second.retryInMs).toBeUndefined();
    expect(reconciler.status()).toMatchObject({ phase: 'idle', consecutiveFailures: 2, nextRunAt: clock.now() + 60_000 });
  });

  it('exponentialBackoff({ shouldRetry }) chooses what is retried: () => true backs off after any failure', async () => {
    const { clock, reconciler } = loop({ intervalMs: 60_000, retry: exponentialBackoff({ initialMs: 1000, jitter: 0, shouldRetry: () => true }) }, { 'a.yaml': 'kind: [broken\n' });
    const failed = nextEvent(reconciler, 'pass.failed');
    reconciler.start();
    await clock.flush();
    expect(await failed).toMatchObject({ error: { code: 'YAML_SYNTAX' }, retryInMs: 1000 });
  });
});

describe('duration options', () => {
  it('interval, the name DESIGN.md gave intervalMs, still sets the time between passes', async () => {
    const { clock, reconciler } = loop({ interval: 5000 });
    const first = nextEvent(reconciler, 'pass.succeeded');
    reconciler.start();
    await clock.flush();
    await first;
    expect(reconciler.status().nextRunAt).toBe(clock.now() + 5000);
  });

  it.each([
    [{ intervalMs: 5000, interval: 6000 }, 'intervalMs'],
    [{ wait: { timeoutMs: 5000, timeout: 6000 } }, 'wait.timeoutMs'],
  ] satisfies [Partial<ReconcilerOptions>, string][])('refuses a duration given under both names with different values (%j)', (options, option) => {
    const create = () => createReconciler({ name: 'r', source: directorySource('.'), render: yamlFiles(), sink: new MemorySink(), ...options });
    expect(create).toThrow(InvalidOptionsError);
    expect(create).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', data: { option } }));
  });

  it('accepts both names when they agree', () => {
    expect(() => createReconciler({ name: 'r', source: directorySource('.'), render: yamlFiles(), sink: new MemorySink(), intervalMs: 5000, interval: 5000 })).not.toThrow();
  });

  it.each([{ timeoutMs: 30_000 }, { timeout: 30_000 }])('waits for health up to wait.timeoutMs, or wait.timeout, its name in DESIGN.md (%j)', async (wait) => {
    const { clock, reconciler } = loop({ wait: { ...wait, pollIntervalMs: 1000 } }, { 'web.yaml': deployment });
    const waiting = nextEvent(reconciler, 'health.changed');
    const result = reconciler.reconcile();
    await waiting;
    await clock.advance(30_000);
    expect(await result).toMatchObject({ status: 'failed', error: { code: 'HEALTH_TIMEOUT', message: expect.stringContaining('not healthy after 30000 ms') } });
  });
});

/** A Deployment that never reports progress: it stays InProgress. */
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: web:1 }] }
`;

describe('start() again before stop() resolved', () => {
  it.each([
    ['stop({ abort: true })', { abort: true }],
    ['stop()', {}],
  ])("%s, then start() at once: the phase is the new run's, never stopped, and the new run's first pass runs at once", async (_, stopOptions) => {
    const clock = new FakeClock(0);
    const source = memorySource({ 'a.yaml': configMap('a', '1') });
    let finish: (() => void) | undefined;
    // The first revision check answers when the test says so, or rejects when its pass is aborted.
    const held: Source = {
      ...source,
      latestRevision: (o = {}) => {
        if (finish) return source.latestRevision(o);
        return new Promise((resolve, reject) => {
          finish = () => resolve(source.latestRevision());
          o.signal?.addEventListener('abort', () => reject(o.signal?.reason), { once: true });
        });
      },
    };
    const reconciler = createReconciler({ name: 'restart', source: held, render: yamlFiles(), sink: new MemorySink(), clock, jitter: 0, intervalMs: 60_000 });
    const started: string[] = [];
    reconciler.on('pass.started', (e) => started.push(e.reason));
    cleanups.push(() => reconciler.stop({ abort: true }));
    reconciler.start();
    await clock.flush();
    expect(reconciler.status().phase).toBe('reconciling');

    const stopped = reconciler.stop(stopOptions);
    reconciler.start();
    finish?.();
    const phases = [reconciler.status().phase];
    let settled = false;
    void stopped.then(() => (settled = true));
    // Every phase until stop() resolved and a little after, without firing a timer.
    for (let i = 0; i < 20 || !settled; i++) {
      await new Promise((r) => setImmediate(r));
      phases.push(reconciler.status().phase);
    }
    expect(phases.filter((p) => p === 'stopped')).toEqual([]);
    await clock.flush();
    expect(started).toEqual(['start', 'start']);
    expect(reconciler.status()).toMatchObject({ phase: 'idle', nextRunAt: 60_000, history: [{ reason: 'start' }, { reason: 'start', result: 'succeeded' }] });
  });

  it("with passSlots, a pass queued for a slot: stop({ abort: true }) drops it, and start() at once keeps the new run's phase; its pass runs once the slot frees", async () => {
    const clock = new FakeClock(0);
    const slots = new Semaphore(1);
    const taken = await slots.acquire();
    const reconciler = createReconciler({ name: 'restart', source: memorySource({ 'a.yaml': configMap('a', '1') }), render: yamlFiles(), sink: new MemorySink(), clock, jitter: 0, intervalMs: 60_000, passSlots: slots });
    const events: string[] = [];
    reconciler.on('*', (e) => (e.type === 'pass.started' || e.type === 'pass.skipped') && events.push(`${e.type} ${e.reason}`));
    cleanups.push(() => reconciler.stop({ abort: true }));
    reconciler.start();
    await clock.flush();
    expect(reconciler.status().phase).toBe('queued');
    const stopped = reconciler.stop({ abort: true });
    reconciler.start();
    await stopped;
    expect(events).toEqual(['pass.skipped stopped']);
    expect(reconciler.status().phase).toBe('idle');
    await clock.flush();
    expect(reconciler.status().phase).toBe('queued');
    taken();
    await clock.flush();
    expect(events).toEqual(['pass.skipped stopped', 'pass.started start']);
    expect(reconciler.status()).toMatchObject({ phase: 'idle', nextRunAt: 60_000 });
  });
});
