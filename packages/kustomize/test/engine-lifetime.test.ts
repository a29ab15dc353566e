import { FakeClock } from '@converge/core/testing';
import { InvalidOptionsError } from '@converge/core';
import { afterEach, describe, expect, it } from 'vitest';
import { KustomizeEngine, kustomize, type KustomizeEngineOptions } from '../src/index.js';
import { artifactOf } from './helpers/fixtures.js';

const engines: KustomizeEngine[] = [];
const engineWith = (o: KustomizeEngineOptions) => {
  const engine = new KustomizeEngine(o);
  engines.push(engine);
  return engine;
};
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

const files = {
  'kustomization.yaml': 'namePrefix: dev-\nresources:\n- cm.yaml\n',
  'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n',
};
const build = async (engine: KustomizeEngine) => (await kustomize({ engine })({ artifact: await artifactOf(files) })).map((o) => o.metadata.name);

describe('kustomize engine lifetime (the wasm host options helm-render has too)', () => {
  it('stops its process after idleTimeoutMs without a build, and builds again after', async () => {
    const clock = new FakeClock();
    const engine = engineWith({ clock, idleTimeoutMs: 5_000 });
    expect(await build(engine)).toEqual(['dev-settings']);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 1 });

    await clock.advance(4_999);
    expect(engine.stats().process).toBe('ready');
    await clock.advance(1);
    expect(engine.stats()).toEqual({ process: 'none', pid: undefined, memoryBytes: 0, rssBytes: 0, processesStarted: 1 });

    expect(await build(engine)).toEqual(['dev-settings']);
    expect(engine.stats()).toMatchObject({ process: 'ready', processesStarted: 2 });
  });

  it('replaces a process whose memory passed recycleAboveMemoryBytes before the next build', async () => {
    const engine = engineWith({ recycleAboveMemoryBytes: 1 });
    expect(await build(engine)).toEqual(['dev-settings']);
    expect(await build(engine)).toEqual(['dev-settings']);
    expect(engine.stats().processesStarted).toBe(2);
  });

  it('refuses a negative idleTimeoutMs with INVALID_OPTIONS', () => {
    expect(() => new KustomizeEngine({ idleTimeoutMs: -1 })).toThrow(InvalidOptionsError);
  });
});
