import { ConvergeError, createReconciler, yamlFiles, type ReconcileEvent } from '@converge/core';
import { MemorySink, memorySource } from '@converge/core/testing';
import { createFleet } from '@converge/fleet';
import { afterEach, describe, expect, it } from 'vitest';
import { notifyOn, webhookNotifier, type Notification, type Notifier, type WebhookPayload } from '../src/index.js';
import { startHttpReceiver } from './support/http-receiver.js';

const configMap = (name: string, value: string): string => `{ apiVersion: v1, kind: ConfigMap, metadata: { name: ${name}, namespace: demo }, data: { value: "${value}" } }\n`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

function setup() {
  const repo = memorySource({ 'a.yaml': configMap('a', '1') });
  const sink = new MemorySink();
  const reconciler = createReconciler({ name: 'web', source: repo, render: yamlFiles(), sink });
  return { repo, sink, reconciler };
}

/** A notifier that keeps what it is given (the receiving end of the interface under test). */
function recording(): Notifier & { sent: Notification[] } {
  const sent: Notification[] = [];
  return { sent, notify: async (n) => void sent.push(n) };
}

describe('notifyOn', () => {
  it('sends failed then recovered to a real webhook receiver for a reconciler whose sink fails', async () => {
    const receiver = await startHttpReceiver();
    cleanups.push(() => receiver.close());
    const { sink, reconciler } = setup();
    const stop = notifyOn(reconciler, webhookNotifier({ url: receiver.url, secret: 'shh' }));
    cleanups.push(stop);

    sink.fail({ op: 'readInventory', times: 2 });
    expect((await reconciler.reconcile()).status).toBe('failed');
    expect((await reconciler.reconcile()).status).toBe('failed');
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    await stop.flush();

    const requests = await receiver.waitFor(2);
    const payloads = requests.map((r) => JSON.parse(r.body) as WebhookPayload);
    expect(payloads.map((p) => p.type)).toEqual(['failed', 'recovered']);
    expect(payloads[0]).toMatchObject({ type: 'failed', reconciler: 'web', error: { code: 'SIMULATED_FAULT', message: 'simulated readInventory failure' }, failures: 1 });
    expect(payloads[0]?.revision).toBe('r1');
    expect(payloads[1]).toMatchObject({ type: 'recovered', reconciler: 'web', failures: 2 });
    expect(requests.map((r) => r.headers['x-converge-event'])).toEqual(['failed', 'recovered']);
    expect(receiver.requests).toHaveLength(2);
  });

  it('sends failed once per failure streak by default, and for every failure with every: true', async () => {
    const { sink, reconciler } = setup();
    const once = recording();
    const every = recording();
    cleanups.push(notifyOn(reconciler, once), notifyOn(reconciler, every, { every: true }));
    sink.fail({ op: 'readInventory', times: 3 });
    for (let i = 0; i < 3; i++) await reconciler.reconcile();
    await reconciler.reconcile();
    sink.fail({ op: 'readInventory' });
    await reconciler.reconcile();
    expect(once.sent.map((n) => n.type)).toEqual(['failed', 'recovered', 'failed']);
    expect(every.sent.map((n) => (n.type === 'failed' ? `failed#${n.failures}` : n.type))).toEqual(['failed#1', 'failed#2', 'failed#3', 'recovered', 'failed#1']);
  });

  it('does not announce a failure streak that began before it subscribed', async () => {
    const { sink, reconciler } = setup();
    sink.fail({ op: 'readInventory', times: 2 });
    await reconciler.reconcile();
    const notifier = recording();
    cleanups.push(notifyOn(reconciler, notifier));
    await reconciler.reconcile();
    await reconciler.reconcile();
    expect(notifier.sent.map((n) => n.type)).toEqual(['recovered']);
  });

  it('sends drift-corrected with the objects put back', async () => {
    const { sink, reconciler } = setup();
    const notifier = recording();
    cleanups.push(notifyOn(reconciler, notifier));
    await reconciler.reconcile();
    const live = sink.objects()[0]!;
    sink.set({ ...live, data: { value: 'edited by hand' } });
    const result = await reconciler.reconcile();
    expect(result.driftCorrected).toBe(1);
    expect(notifier.sent).toEqual([
      expect.objectContaining({ type: 'drift-corrected', reconciler: 'web', revision: result.revision, count: 1, objects: [{ group: '', kind: 'ConfigMap', namespace: 'demo', name: 'a' }] }),
    ]);
    expect(JSON.stringify(notifier.sent)).not.toContain('edited by hand');
  });

  it('sends nothing for a pass that only applied a new revision', async () => {
    const { repo, reconciler } = setup();
    const notifier = recording();
    cleanups.push(notifyOn(reconciler, notifier));
    await reconciler.reconcile();
    repo.write('a.yaml', configMap('a', '2'));
    await reconciler.reconcile();
    expect(notifier.sent).toEqual([]);
  });

  it('sends only the chosen types', async () => {
    const { sink, reconciler } = setup();
    const notifier = recording();
    cleanups.push(notifyOn(reconciler, notifier, { types: ['recovered'] }));
    sink.fail({ op: 'readInventory' });
    await reconciler.reconcile();
    await reconciler.reconcile();
    expect(notifier.sent.map((n) => n.type)).toEqual(['recovered']);
  });

  it('reports notifier errors to onError and never breaks the reconciler', async () => {
    const { sink, reconciler } = setup();
    const errors: [ConvergeError, Notification['type']][] = [];
    const broken: Notifier = {
      notify: async (n) => {
        if (n.type === 'failed') throw new ConvergeError('NOTIFY_FAILED', 'receiver is down');
        throw new Error('plain error');
      },
    };
    const throwingSync: Notifier = {
      notify: () => {
        throw new Error('synchronous throw');
      },
    };
    const stop = notifyOn(reconciler, broken, { onError: (e, n) => errors.push([e, n.type]) });
    const stop2 = notifyOn(reconciler, throwingSync, {
      onError: () => {
        throw new Error('and the handler throws too');
      },
    });
    cleanups.push(stop, stop2);
    sink.fail({ op: 'readInventory' });
    expect((await reconciler.reconcile()).status).toBe('failed');
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    await stop.flush();
    await stop2.flush();
    expect(errors.map(([e, t]) => [e.code, e.message, t])).toEqual([
      ['NOTIFY_FAILED', 'receiver is down', 'failed'],
      ['INTERNAL', 'plain error', 'recovered'],
    ]);
    expect(sink.objects()).toHaveLength(1);
  });

  it('delivers in order even when an earlier notification is slow', async () => {
    const { sink, reconciler } = setup();
    const delivered: string[] = [];
    const slowFirst: Notifier = {
      notify: (n) => new Promise((resolve) => setTimeout(() => resolve(void delivered.push(n.type)), n.type === 'failed' ? 50 : 0)),
    };
    const stop = notifyOn(reconciler, slowFirst);
    cleanups.push(stop);
    sink.fail({ op: 'readInventory' });
    await reconciler.reconcile();
    await reconciler.reconcile();
    await stop.flush();
    expect(delivered).toEqual(['failed', 'recovered']);
  });

  it('stops sending after unsubscribe', async () => {
    const { sink, reconciler } = setup();
    const notifier = recording();
    const stop = notifyOn(reconciler, notifier);
    stop();
    sink.fail({ op: 'readInventory' });
    await reconciler.reconcile();
    expect(notifier.sent).toEqual([]);
  });

  it('given a fleet, keeps one failure streak per application (across the reconcilers a spec change replaces) and notifies the fleet\'s own failed and recovered passes', async () => {
    const specs = memorySource({ 'apps/a.yaml': '{}\n', 'apps/b.yaml': '{}\n' });
    const sink = new MemorySink();
    const fleet = createFleet({ name: 'f', source: specs, path: 'apps', sink, createApp: (spec) => ({ source: memorySource({ 'x.yaml': configMap(spec.name, '1') }), render: yamlFiles() }) });
    const notifier = recording();
    const stop = notifyOn(fleet, notifier);
    cleanups.push(stop, () => fleet.stop());

    sink.fail({ op: 'apply', ref: { group: '', kind: 'ConfigMap', namespace: 'demo', name: 'a' }, times: 2 });
    await fleet.reconcile();
    // a's spec changes: a new reconciler, still failing, is not announced again.
    specs.write('apps/a.yaml', 'vars: { X: "2" }\n');
    await fleet.reconcile();
    await fleet.reconcile();
    // The spec folder breaks, then is fixed: the fleet's own streak.
    specs.write('apps/c.yaml', '[not, a, mapping]\n');
    await fleet.reconcile();
    await fleet.reconcile();
    specs.remove('apps/c.yaml');
    await fleet.reconcile();
    await stop.flush();

    expect(notifier.sent.map((n) => `${n.reconciler} ${n.type}${n.type === 'drift-corrected' ? '' : ` #${n.failures}`}`)).toEqual([
      'f-a failed #1',
      'f-a recovered #2',
      'f failed #1',
      'f recovered #2',
    ]);
    expect(notifier.sent[2]).toMatchObject({ type: 'failed', error: { code: 'APP_SPEC_INVALID' } });
  });

  it('accepts anything with on(): a runtime of your own that reports reconcile events', async () => {
    const listeners: ((event: { type: string }) => void)[] = [];
    const own = { on: (_type: '*', fn: (event: { type: string }) => void) => (listeners.push(fn), () => undefined) };
    const notifier = recording();
    const stop = notifyOn(own, notifier);
    cleanups.push(stop);
    const failed: ReconcileEvent = { type: 'pass.failed', reconciler: 'mine', at: 1, error: new ConvergeError('BOOM', 'it broke'), durationMs: 3 };
    for (const fn of listeners) fn({ type: 'something.else' });
    for (const fn of listeners) fn(failed);
    await stop.flush();
    expect(notifier.sent).toEqual([{ type: 'failed', reconciler: 'mine', at: 1, error: { code: 'BOOM', message: 'it broke' }, failures: 1 }]);
  });
});
