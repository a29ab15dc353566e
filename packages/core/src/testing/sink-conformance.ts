import { OWNER_ANNOTATION, PRUNE_ANNOTATION } from '../annotations.js';
import { formatRef, refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';
import type { ApplyResult, Sink } from '../sink.js';

/** Options of {@link sinkConformance}. */
export interface SinkConformanceOptions {
  /** Makes the sink under test; called once per check. */
  makeSink(): Sink | Promise<Sink>;
  /** Releases a sink after a check (e.g. `kubeSink().close()`). */
  closeSink?(sink: Sink): void | Promise<void>;
  /**
   * A namespace the checks may create objects in; give each run its own. The checks apply the
   * Namespace first (a cluster-scoped object), unless `createNamespace` is false.
   */
  namespace: string;
  /** @default true */
  createNamespace?: boolean;
  /**
   * An object the sink must refuse (the server rejects it), to check that one failure does not
   * fail the others. Leave out if the sink accepts anything.
   */
  invalidObject?: KubeObject;
}

/** One behaviour the runtime relies on; `run` throws an `Error` saying what the sink did wrong. */
export interface SinkConformanceCheck {
  /** What the check asserts, as a test name. */
  name: string;
  /** Runs the check on a new sink; rejects with an error saying what the sink did wrong. */
  run(): Promise<void>;
}

class ConformanceFailure extends Error {
  override name = 'SinkConformanceFailure';
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

/**
 * The checks a `Sink` must pass for the reconcile runtime to be safe on it: get, apply,
 * delete and inventory round trips, dry runs, not-found, preconditions and owners, and
 * per-object errors. Framework-neutral: register each check with your test runner.
 * This repository runs it against `MemorySink` and against `kubeSink` on a real control plane.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * for (const check of sinkConformance({ makeSink: () => new MySink(), namespace: `conf-${Date.now()}` })) {
 *   it(check.name, () => check.run());
 * }
 * ```
 */
export function sinkConformance(options: SinkConformanceOptions): SinkConformanceCheck[] {
  const ns = options.namespace;
  let serial = 0;
  const unique = (prefix: string): string => `${prefix}-${++serial}`;
  const cm = (name: string, data: Record<string, string> = { v: '1' }, annotations?: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...(annotations && { annotations }) },
    data,
  });
  const ref = (name: string): ObjectRef => ({ group: '', kind: 'ConfigMap', namespace: ns, name });

  let namespaceReady: Promise<void> | undefined;
  const withSink = async (fn: (sink: Sink) => Promise<void>): Promise<void> => {
    const sink = await options.makeSink();
    try {
      if (options.createNamespace ?? true) {
        namespaceReady ??= sink.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]).then(([r]) => {
          expect(r?.ok === true, `applying Namespace ${ns} failed: ${r && !r.ok ? r.error.message : 'no result'}`);
        });
        await namespaceReady;
      }
      await fn(sink);
    } finally {
      await options.closeSink?.(sink);
    }
  };
  const applied = (r: ApplyResult | undefined, what: string): KubeObject => {
    expect(r !== undefined, `${what}: apply returned no result for the object`);
    expect(r.ok, `${what}: apply failed: ${r.ok ? '' : `${r.error.code} ${r.error.message}`}`);
    return r.object;
  };

  const checks: SinkConformanceCheck[] = [
    {
      name: 'get leaves out objects that do not exist, without failing',
      run: () => withSink(async (sink) => {
        expect((await sink.get([ref(unique('absent'))])).length === 0, 'get returned an object that was never applied');
      }),
    },
    {
      name: 'apply creates an object, returns it as stored with the same identity, and get reads it back',
      run: () => withSink(async (sink) => {
        const name = unique('created');
        const stored = applied((await sink.apply([cm(name, { color: 'blue' })]))[0], 'create');
        expect(refKey(refOf(stored)) === refKey(ref(name)), `apply returned ${formatRef(refOf(stored))}, not ${formatRef(ref(name))}`);
        const [live] = await sink.get([ref(name)]);
        expect(live !== undefined, 'get did not return the applied object');
        expect((live['data'] as Record<string, string> | undefined)?.['color'] === 'blue', 'get returned the object without its data');
        expect(typeof live.metadata['resourceVersion'] === 'string', 'live objects must carry metadata.resourceVersion (the runtime uses it as a precondition)');
      }),
    },
    {
      name: 'apply reports one result per object, in order, and onResult once per object',
      run: () => withSink(async (sink) => {
        const names = [unique('a'), unique('b'), unique('c')];
        const seen: string[] = [];
        const results = await sink.apply(names.map((n) => cm(n)), { onResult: (r) => seen.push(r.ref.name) });
        expect(results.length === 3, `expected 3 results, got ${results.length}`);
        expect(results.map((r) => r.ref.name).join() === names.join(), 'results are not in input order');
        expect([...seen].sort().join() === [...names].sort().join() && seen.length === 3, `onResult saw ${seen.join(', ')}`);
      }),
    },
    ...(options.invalidObject
      ? [
          {
            name: 'an object the target refuses fails alone, as a ConvergeError naming it; the others are applied',
            run: () => withSink(async (sink) => {
              const good = unique('good');
              const [bad, ok] = await sink.apply([options.invalidObject as KubeObject, cm(good)]);
              expect(bad !== undefined && !bad.ok, 'the invalid object was accepted');
              expect(typeof bad.error.code === 'string' && bad.error.code !== '', 'the error has no code');
              applied(ok, 'the valid object next to an invalid one');
            }),
          },
        ]
      : []),
    {
      name: 'a dry-run apply validates but persists nothing',
      run: () => withSink(async (sink) => {
        const name = unique('dry');
        applied((await sink.apply([cm(name)], { dryRun: true }))[0], 'dry-run create');
        expect((await sink.get([ref(name)])).length === 0, 'a dry-run apply created the object');
      }),
    },
    {
      name: 'a stale resourceVersion precondition with an owner is refused when another owner claimed the object',
      run: () => withSink(async (sink) => {
        const name = unique('claimed');
        const first = applied((await sink.apply([cm(name, { v: '1' }, { [OWNER_ANNOTATION]: 'first' })], { owner: 'first' }))[0], 'create');
        // Another reconciler adopts it, against the version it read.
        const takeover = cm(name, { v: '2' }, { [OWNER_ANNOTATION]: 'other' });
        takeover.metadata['resourceVersion'] = first.metadata['resourceVersion'];
        applied((await sink.apply([takeover], { owner: 'other', force: true }))[0], 'adoption by another owner');
        const stale = { ...cm(name, { v: '3' }, { [OWNER_ANNOTATION]: 'first' }) };
        stale.metadata['resourceVersion'] = first.metadata['resourceVersion'];
        const [r] = await sink.apply([stale], { owner: 'first', force: true });
        expect(r !== undefined && !r.ok && r.error.code === 'OWNERSHIP_CONFLICT', `expected OWNERSHIP_CONFLICT, got ${r?.ok ? 'success' : r?.error.code}`);
      }),
    },
    {
      name: 'an object planned as new (no resourceVersion) that another owner created meanwhile is refused',
      run: () => withSink(async (sink) => {
        const name = unique('raced');
        applied((await sink.apply([cm(name, { v: '1' }, { [OWNER_ANNOTATION]: 'winner' })], { owner: 'winner' }))[0], 'create by the winner');
        const [r] = await sink.apply([cm(name, { v: '2' }, { [OWNER_ANNOTATION]: 'loser' })], { owner: 'loser', force: true });
        expect(r !== undefined && !r.ok && r.error.code === 'OWNERSHIP_CONFLICT', `expected OWNERSHIP_CONFLICT, got ${r?.ok ? 'success' : r?.error.code}`);
      }),
    },
    {
      name: 'delete reports found for an existing object and found: false for a missing one',
      run: () => withSink(async (sink) => {
        const name = unique('doomed');
        applied((await sink.apply([cm(name)]))[0], 'create');
        const [gone, missing] = await sink.delete([ref(name), ref(unique('never'))]);
        expect(gone?.ok === true && gone.found, 'delete of an existing object did not report found');
        expect(missing?.ok === true && !missing.found, 'delete of a missing object did not report found: false');
        expect((await sink.get([ref(name)])).length === 0, 'the deleted object is still there');
      }),
    },
    {
      name: 'delete keeps objects marked prune: disabled and objects another owner holds',
      run: () => withSink(async (sink) => {
        const kept = unique('kept');
        const theirs = unique('theirs');
        applied((await sink.apply([cm(kept, {}, { [PRUNE_ANNOTATION]: 'disabled' }), cm(theirs, {}, { [OWNER_ANNOTATION]: 'other' })]))[0], 'create');
        const [a, b] = await sink.delete([ref(kept), ref(theirs)], { owner: 'me' });
        expect(a?.ok === true && a.skipped === 'prune-disabled', `expected skipped: 'prune-disabled', got ${JSON.stringify(a)}`);
        expect(b?.ok === true && b.skipped === 'owned-by-other', `expected skipped: 'owned-by-other', got ${JSON.stringify(b)}`);
        expect((await sink.get([ref(kept), ref(theirs)])).length === 2, 'a protected object was deleted');
      }),
    },
    {
      name: 'a dry-run delete persists nothing',
      run: () => withSink(async (sink) => {
        const name = unique('dry-delete');
        applied((await sink.apply([cm(name)]))[0], 'create');
        await sink.delete([ref(name)], { dryRun: true });
        expect((await sink.get([ref(name)])).length === 1, 'a dry-run delete deleted the object');
      }),
    },
    {
      name: 'inventories round-trip: absent, written, replaced, deleted',
      run: () => withSink(async (sink) => {
        const owner = unique(`owner-${ns}`);
        expect((await sink.readInventory(owner)) === undefined, 'a never-written inventory must read as undefined');
        const refs = [ref('x'), { group: 'apps', kind: 'Deployment', namespace: ns, name: 'y' }, { group: '', kind: 'Namespace', name: ns }];
        await sink.writeInventory(owner, refs);
        const back = await sink.readInventory(owner);
        expect(back !== undefined && back.map(refKey).sort().join() === refs.map(refKey).sort().join(), `read back ${JSON.stringify(back)}`);
        await sink.writeInventory(owner, [ref('z')]);
        expect((await sink.readInventory(owner))?.map(refKey).join() === refKey(ref('z')), 'writeInventory did not replace the record');
        if (sink.deleteInventory) {
          await sink.deleteInventory(owner);
          expect((await sink.readInventory(owner)) === undefined, 'deleteInventory left a record');
        }
      }),
    },
  ];
  return checks;
}
