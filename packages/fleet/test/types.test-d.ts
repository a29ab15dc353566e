import type { ConvergeError, Source } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import { describe, expectTypeOf, it } from 'vitest';
import { createFleet, type AppSpec, type FleetEvent } from '../src/index.js';

const source = null as unknown as Source;
const app = { source, render: async () => [] };

describe('fleet types', () => {
  it('on() narrows the event by type, fleet and application events included', () => {
    const fleet = createFleet({ name: 'f', source, sink: new MemorySink(), createApp: () => app });
    fleet.on('app.removeFailed', (e) => {
      expectTypeOf(e.app).toEqualTypeOf<string>();
      expectTypeOf(e.error).toEqualTypeOf<ConvergeError>();
    });
    fleet.on('fleet.pass.succeeded', (e) => {
      expectTypeOf(e.revision).toEqualTypeOf<string>();
      expectTypeOf(e.added).toEqualTypeOf<string[]>();
    });
    fleet.on('pass.succeeded', (e) => expectTypeOf(e.reconciler).toEqualTypeOf<string>());
    fleet.on('*', (e) => expectTypeOf(e).toEqualTypeOf<FleetEvent>());
  });

  it('parseSpec types the specs createApp and status() see', () => {
    type GitSpec = AppSpec<{ url: string }> & { source: { url: string } };
    const fleet = createFleet({
      name: 'f',
      source,
      sink: new MemorySink(),
      parseSpec: (spec): GitSpec => ({ ...spec, source: { url: String(spec.source?.['url']) } }),
      createApp: (spec) => {
        expectTypeOf(spec.source.url).toEqualTypeOf<string>();
        return app;
      },
    });
    expectTypeOf(fleet.status().apps['x']!.spec.source.url).toEqualTypeOf<string>();
  });

  it('a createApp that needs a typed spec needs a parseSpec', () => {
    // @ts-expect-error: without parseSpec, specs are plain AppSpecs
    createFleet({ name: 'f', source, sink: new MemorySink(), createApp: (spec: AppSpec<{ url: string }> & { source: { url: string } }) => (spec.source.url, app) });
  });

  it('a fleet result says why only when it failed', () => {
    const fleet = createFleet({ name: 'f', source, sink: new MemorySink(), createApp: () => app });
    void fleet.reconcile().then((r) => {
      if (r.status === 'failed') expectTypeOf(r.error).toEqualTypeOf<ConvergeError>();
      if (r.status === 'succeeded') expectTypeOf(r.revision).toEqualTypeOf<string>();
    });
  });
});
