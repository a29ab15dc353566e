import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { HealthError } from '../../src/errors.js';
import type { Health } from '../../src/health/health-status.js';
import { liveHealth } from '../../src/health/live-health.js';
import { waitForHealth } from '../../src/health/wait-for-health.js';
import { refOf, type KubeObject, type ObjectRef } from '../../src/object.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { MemorySink } from '../../src/testing/memory-sink.js';

const rollingOut: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'web', generation: 1 },
  spec: { replicas: 1 },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 0 },
};
const rolledOut: KubeObject = {
  ...rollingOut,
  status: {
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    conditions: [
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      { type: 'Available', status: 'True' },
    ],
  },
};
const crashed: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'job-1', namespace: 'web' },
  spec: { restartPolicy: 'Never' },
  status: { phase: 'Failed', message: 'exit code 1' },
};
const api = refOf(rollingOut);
const missing: ObjectRef = { group: '', kind: 'ConfigMap', namespace: 'web', name: 'gone' };

function sinkWith(...objects: KubeObject[]): MemorySink {
  const sink = new MemorySink();
  for (const obj of objects) sink.set(obj);
  return sink;
}

/** Replaces the live object, status included (what the cluster's controllers would do). */
function roll(sink: MemorySink, obj: KubeObject): void {
  sink.remove(refOf(obj));
  sink.set(obj);
}

const reads = (sink: MemorySink): number => sink.calls.filter((c) => c.op === 'get').length;

describe('waitForHealth', () => {
  it('reads once per poll interval of the clock it is given and resolves once every object is Current', async () => {
    const sink = sinkWith(rollingOut);
    const clock = new FakeClock();
    const changes: Health['status'][] = [];
    let done = false;
    const wait = waitForHealth(sink, [api], { clock, pollIntervalMs: 1000, timeoutMs: 60_000, onChange: (_, h) => changes.push(h.status) }).then(() => (done = true));
    await clock.flush();
    expect(reads(sink)).toBe(1);
    await clock.advance(999);
    expect(reads(sink)).toBe(1);
    await clock.advance(1);
    expect(reads(sink)).toBe(2);
    roll(sink, rolledOut);
    expect(done).toBe(false);
    await clock.advance(1000);
    await wait;
    expect(reads(sink)).toBe(3);
    expect(changes).toEqual(['InProgress', 'Current']);
    expect(clock.pending).toBe(0);
  });

  it('times out on the clock with a retryable HEALTH_TIMEOUT naming the stragglers', async () => {
    const sink = sinkWith(rollingOut);
    const clock = new FakeClock();
    const wait = waitForHealth(sink, [api, missing], { clock, pollIntervalMs: 1000, timeoutMs: 5000 });
    const outcome = wait.catch((e: unknown) => e);
    await clock.advance(5000);
    const error = (await outcome) as HealthError;
    expect(error).toBeInstanceOf(HealthError);
    expect(error).toMatchObject({ code: 'HEALTH_TIMEOUT', retryable: true });
    expect(error.message).toContain('not healthy after 5000 ms: Deployment.apps web/api (InProgress: Updated: 0/1)');
    expect(error.message).toContain('ConfigMap web/gone (NotFound');
    expect(reads(sink)).toBe(6);
  });

  it('fails at once with HEALTH_FAILED when an object is Failed', async () => {
    const sink = sinkWith(rollingOut, crashed);
    await expect(waitForHealth(sink, [api, refOf(crashed)], { clock: new FakeClock() })).rejects.toMatchObject({ code: 'HEALTH_FAILED' });
  });

  it('leaves no abort listener behind, however many polls it takes', async () => {
    const sink = sinkWith(rollingOut);
    const clock = new FakeClock();
    const controller = new AbortController();
    const wait = waitForHealth(sink, [api], { clock, pollIntervalMs: 10, timeoutMs: 60_000, signal: controller.signal });
    let most = 0;
    for (let i = 0; i < 200; i++) {
      await clock.advance(10);
      most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
    }
    expect(reads(sink)).toBe(201);
    // kube-sink's copy added one listener per poll and never removed it (200 here).
    expect(most).toBe(1);
    roll(sink, rolledOut);
    await clock.advance(10);
    await wait;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the abort reason and cancels its timer when aborted between polls', async () => {
    const sink = sinkWith(rollingOut);
    const clock = new FakeClock();
    const controller = new AbortController();
    const wait = waitForHealth(sink, [api], { clock, signal: controller.signal });
    await clock.flush();
    expect(clock.pending).toBe(1);
    const reason = new Error('stopped');
    controller.abort(reason);
    await expect(wait).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('liveHealth', () => {
  it('keys every ref by refKey, NotFound for missing objects', async () => {
    const sink = sinkWith(rolledOut);
    const healths = await liveHealth(sink, [api, missing]);
    expect([...healths.values()].map((h) => h.status)).toEqual(['Current', 'NotFound']);
    expect(healths.get('/ConfigMap/web/gone')?.message).toBe('ConfigMap web/gone not found');
  });
});
