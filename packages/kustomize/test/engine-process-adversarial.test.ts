import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KustomizeEngine, KustomizeError, type BuildRequest, type ResolvedRemote } from '../src/index.js';

// The engine's host calls (remote entries here) answered badly; see helm-render's
// engine-process-adversarial.test.ts for the engine process itself killed, stopped and stormed.

const MiB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);
const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\ndata:\n  a: "1"\n';
const request = (resolve: BuildRequest['resolve'], timeoutMs = 20_000): BuildRequest => ({
  files: [{ name: 'kustomization.yaml', data: text('resources:\n- https://example.com/cm.yaml\n') }],
  path: '.',
  loadRestrictor: 'rootOnly',
  generateKustomization: false,
  enableHelm: false,
  limits: { maxMemoryBytes: 256 * MiB, maxOutputBytes: 16 * MiB, timeoutMs },
  resolve,
});
const good = (): Promise<ResolvedRemote> => Promise.resolve({ kind: 'file', id: 'cm', data: text(cm), revision: 'r1' });

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

const engine = new KustomizeEngine({ idleTimeoutMs: Infinity });
afterAll(() => engine.close());
afterEach(() => {
  expect(unhandled.splice(0)).toEqual([]);
});

describe('a remote resolver that answers what cannot reach the engine', () => {
  it.each<[string, () => Promise<ResolvedRemote>]>([
    ['resolves with a value that cannot be cloned (a function)', () => Promise.resolve({ kind: 'file', id: 'cm', data: text(cm), revision: (() => 'r1') as unknown as string })],
    ['rejects with an object that cannot be printed', () => Promise.reject(Object.create(null) as Error)],
  ])('%s: the build fails at once with a typed error, nothing unhandled, the next build works', async (_, resolve) => {
    const started = Date.now();
    const err = await engine.build(request(resolve)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(KustomizeError);
    expect((err as KustomizeError).code).toBe('KUSTOMIZE_REMOTE_FAILED');
    expect((await engine.build(request(good))).yaml).toContain('name: remote');
  });

  it('never answers: the build is bounded by timeoutMs', async () => {
    const err = await engine.build(request(() => new Promise(() => {}), 1500)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as KustomizeError).code).toBe('ENGINE_TIMEOUT');
    expect((await engine.build(request(good))).yaml).toContain('name: remote');
  });
});
