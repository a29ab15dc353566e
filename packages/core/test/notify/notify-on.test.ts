import { afterEach, describe, expect, it } from 'vitest';
import { directorySource } from '../../src/directory-source.js';
import { ConvergeError } from '../../src/errors.js';
import type { Notification, Notifier } from '../../src/notify/notifier.js';
import { notifyOn } from '../../src/notify/notify-on.js';
import { webhookNotifier, type WebhookPayload } from '../../src/notify/webhook-notifier.js';
import { createReconciler } from '../../src/reconciler.js';
import { MemorySink } from '../../src/testing/memory-sink.js';
import { yamlFiles } from '../../src/yaml-files.js';
import { configMap, fixtureRepo } from '../runtime/fixture-repo.js';
import { startHttpReceiver } from '../support/http-receiver.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

function setup() {
  const repo = fixtureRepo({ 'a.yaml': configMap('a', '1') });
  const sink = new MemorySink();
  const reconciler = createReconciler({ name: 'web', source: directorySource(repo.root), render: yamlFiles(), sink });
  cleanups.push(() => repo.dispose());
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
    expect(payloads[0]?.revision).toMatch(/^sha256:/);
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
});
