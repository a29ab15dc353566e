import { describe, expectTypeOf, it } from 'vitest';
import {
  Emitter,
  createReconciler,
  refOf,
  type ConvergeError,
  type EventWithout,
  type KubeObject,
  type ObjectRef,
  type ReconcileResult,
  type Renderer,
  type Sink,
} from '../../src/index.js';
import { MemorySink } from '../../src/testing/index.js';

describe('public types', () => {
  it('MemorySink satisfies Sink', () => {
    expectTypeOf<MemorySink>().toMatchTypeOf<Sink>();
  });

  it('on() narrows the event by type and returns an unsubscribe function', () => {
    const r = createReconciler({ name: 'x', source: null as never, render: null as never, sink: new MemorySink() });
    const off = r.on('object.applied', (e) => {
      expectTypeOf(e.ref).toEqualTypeOf<ObjectRef>();
      expectTypeOf(e.action).toEqualTypeOf<'create' | 'update'>();
    });
    expectTypeOf(off).toEqualTypeOf<() => void>();
    r.on('pass.failed', (e) => expectTypeOf(e.error).toEqualTypeOf<ConvergeError>());
    expectTypeOf(r.reconcile()).resolves.toEqualTypeOf<ReconcileResult>();
  });

  it('Emitter.on narrows the event to the type subscribed to, so an on() built on it needs no cast', () => {
    type Ping = { type: 'ping'; at: number } | { type: 'pong'; at: number; latencyMs: number };
    const events = new Emitter<Ping>();
    events.on('pong', (e) => expectTypeOf(e).toEqualTypeOf<{ type: 'pong'; at: number; latencyMs: number }>());
    events.on('*', (e) => expectTypeOf(e).toEqualTypeOf<Ping>());
  });

  it('EventWithout drops the shared fields from each member, so an emit that fills them in needs no cast', () => {
    type Ping = { type: 'ping'; at: number } | { type: 'pong'; at: number; latencyMs: number };
    const events = new Emitter<Ping>();
    const emit = (e: EventWithout<Ping, 'at'>) => events.emit({ ...e, at: 0 });
    emit({ type: 'pong', latencyMs: 3 });
    // @ts-expect-error a pong needs its latency
    emit({ type: 'pong' });
    // @ts-expect-error a ping has no latency
    emit({ type: 'ping', latencyMs: 3 });
  });

  it('a renderer is a function of the artifact', () => {
    expectTypeOf<Renderer>().parameter(0).toHaveProperty('artifact');
    expectTypeOf(refOf).parameter(0).toEqualTypeOf<KubeObject>();
  });
});
