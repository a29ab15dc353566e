import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { refKey } from '@converge/core';
import type { ConvergeError, DriftEvent, KubeObject, ObjectRef } from '@converge/core';
import type { ResourceMapping } from './discovery.js';
import { KubeHttpError, toKubeError } from './errors.js';
import { listAll } from './get.js';
import { resourcePath } from './resource-path.js';
import type { SinkContext } from './internal/context.js';
import { fingerprint } from './internal/fingerprint.js';

/** Options for drift watching. */
export interface DriftWatchOptions {
  /**
   * Changes are reported once no further change arrived for this long, so a burst of edits
   * (or a controller's follow-up writes) becomes one report per object.
   * @default 250
   */
  debounceMs?: number;
  /** Called when a watch fails (it is retried with backoff); e.g. for logging. */
  onError?: ((error: ConvergeError) => void) | undefined;
}

interface Stream {
  refs: ObjectRef[];
  group: string;
  kind: string;
  namespace: string | undefined;
}

type WatchDone = 'closed' | 'gone';

const isGone = (err: unknown): boolean =>
  (err instanceof KubeHttpError && err.status === 410) || (err as { statusCode?: unknown } | null)?.statusCode === 410;

/**
 * Watches the objects named by `refs` and calls `onDrift` when one is changed or deleted by
 * someone else. One list+watch runs per kind and namespace (narrowed to the name when only
 * one object is watched there). Our own writes are recognised by the resourceVersion and
 * content they left; changes to `status` alone are not drift. Events are debounced per
 * object; a `410 Gone` relists and compares; failures are retried with capped backoff. The
 * returned function stops every watch.
 */
export function watchDrift(
  ctx: SinkContext,
  kubeConfig: KubeConfig,
  refs: readonly ObjectRef[],
  onDrift: (event: DriftEvent) => void,
  options: DriftWatchOptions = {},
): () => void {
  const debounceMs = options.debounceMs ?? 250;
  const controllers = new Set<AbortController>();
  const stopSignal = new AbortController();
  const pending = new Map<string, { event: DriftEvent; seen?: string }>();
  let timer: NodeJS.Timeout | undefined;
  let firstPendingAt = 0;
  let stopped = false;

  const flush = (): void => {
    timer = undefined;
    const batch = [...pending.values()];
    pending.clear();
    for (const { event, seen } of batch) {
      // A write of ours may have landed after the event was seen: drop what it explains.
      if (event.type === 'modified' && seen !== undefined && ctx.ownWrites.content(event.ref) === seen) continue;
      if (event.type === 'deleted' && ctx.ownWrites.wasDeleted(event.ref)) continue;
      try {
        onDrift(event);
      } catch {
        // A listener's failure must not stop the watch.
      }
    }
  };

  const report = (ref: ObjectRef, type: DriftEvent['type'], seen?: string): void => {
    if (stopped) return;
    const entry: { event: DriftEvent; seen?: string } = { event: { ref, type } };
    if (seen !== undefined) entry.seen = seen;
    if (pending.size === 0) firstPendingAt = Date.now();
    pending.set(refKey(ref), entry);
    if (timer) clearTimeout(timer);
    // Trailing debounce, but never hold a report longer than a few windows.
    const wait = Math.max(0, Math.min(debounceMs, firstPendingAt + debounceMs * 4 - Date.now()));
    timer = setTimeout(flush, wait);
  };

  const streams = new Map<string, Stream>();
  for (const ref of refs) {
    const key = `${ref.group}/${ref.kind}/${ref.namespace ?? ''}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { refs: [], group: ref.group, kind: ref.kind, namespace: ref.namespace }));
    s.refs.push(ref);
  }

  async function runStream(stream: Stream): Promise<void> {
    const byName = new Map(stream.refs.map((r) => [r.name, r]));
    const known = new Map<string, string>();
    let mapping: ResourceMapping | undefined;
    let rv: string | undefined;
    let failures = 0;
    const only = stream.refs.length === 1 ? stream.refs[0]?.name : undefined;
    const fieldSelector = only === undefined ? undefined : `metadata.name=${only}`;

    const seeModified = (ref: ObjectRef, obj: KubeObject): void => {
      const fp = fingerprint(obj);
      const before = known.get(ref.name);
      known.set(ref.name, fp);
      if (ctx.ownWrites.isOwnVersion(ref, obj) || ctx.ownWrites.content(ref) === fp || before === fp) return;
      report(ref, 'modified', fp);
    };

    const relist = async (): Promise<void> => {
      mapping ??= await ctx.discovery.resolve({ group: stream.group, kind: stream.kind }, { signal: stopSignal.signal });
      const namespace = mapping.namespaced ? (stream.namespace ?? ctx.defaultNamespace) : undefined;
      const listed = await listAll(ctx, mapping, namespace, stopSignal.signal, fieldSelector);
      const present = new Set<string>();
      for (const obj of listed.items) {
        const ref = byName.get(obj.metadata.name);
        if (!ref) continue;
        present.add(ref.name);
        const fp = fingerprint(obj);
        const before = known.get(ref.name);
        known.set(ref.name, fp);
        // First list: compare with what we last wrote; later lists: with what we last saw.
        const expected = before ?? ctx.ownWrites.content(ref);
        if (expected !== undefined && expected !== fp && ctx.ownWrites.content(ref) !== fp) report(ref, 'modified', fp);
      }
      for (const ref of stream.refs) {
        if (present.has(ref.name)) continue;
        const wasThere = known.delete(ref.name) || ctx.ownWrites.content(ref) !== undefined;
        if (wasThere && !ctx.ownWrites.wasDeleted(ref)) report(ref, 'deleted');
      }
      rv = listed.resourceVersion;
    };

    const watchOnce = (m: ResourceMapping): Promise<WatchDone> =>
      new Promise<WatchDone>((resolve, reject) => {
        const namespace = m.namespaced ? (stream.namespace ?? ctx.defaultNamespace) : undefined;
        let settled = false;
        let controller: AbortController | undefined;
        const finish = (fn: () => void): void => {
          if (settled) return;
          settled = true;
          if (controller) {
            controller.abort();
            controllers.delete(controller);
          }
          fn();
        };
        const started = performance.now();
        new Watch(kubeConfig)
          .watch(
            resourcePath(m, namespace),
            { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 25, fieldSelector },
            (phase: string, obj: KubeObject & { code?: number }) => {
              if (settled) return;
              if (phase === 'ERROR') {
                if (obj?.code === 410) finish(() => resolve('gone'));
                else finish(() => reject(new KubeHttpError(obj?.code ?? 500, obj as never, 'watch error')));
                return;
              }
              const objRv = obj?.metadata?.resourceVersion;
              if (typeof objRv === 'string') rv = objRv;
              if (phase === 'BOOKMARK') return;
              const ref = byName.get(obj.metadata.name);
              if (!ref) return;
              failures = 0;
              if (phase === 'DELETED') {
                known.delete(ref.name);
                if (!ctx.ownWrites.wasDeleted(ref)) report(ref, 'deleted');
              } else if (!ctx.ownWrites.wasDeleted(ref) || phase === 'ADDED') {
                seeModified(ref, obj);
              }
            },
            (err: unknown) => {
              ctx.transportInfo?.({ method: 'GET', path: resourcePath(m, namespace), write: false, dryRun: false, status: err ? 0 : 200, durationMs: performance.now() - started });
              if (isGone(err)) finish(() => resolve('gone'));
              else if (err && !stopped && (err as { name?: string }).name !== 'TimeoutError' && (err as { name?: string }).name !== 'AbortError') finish(() => reject(err));
              else finish(() => resolve('closed'));
            },
          )
          .then(
            (c) => {
              controller = c;
              if (settled || stopped) c.abort();
              else controllers.add(c);
            },
            (err: unknown) => finish(() => reject(err)),
          );
      });

    while (!stopped) {
      try {
        if (rv === undefined) await relist();
        if (stopped || !mapping) break;
        const opened = Date.now();
        const done = await watchOnce(mapping);
        if (done === 'gone') rv = undefined;
        // A stream the server keeps closing at once must not become a busy loop.
        else if (Date.now() - opened < 1000) await ctx.sleep(1000, stopSignal.signal);
      } catch (err) {
        if (stopped) break;
        if (isGone(err)) {
          rv = undefined;
          continue;
        }
        failures++;
        rv = undefined;
        options.onError?.(toKubeError(err, { verb: 'watch', resource: mapping?.resource ?? stream.kind }));
        const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 8)) * (0.8 + Math.random() * 0.4);
        try {
          await ctx.sleep(delay, stopSignal.signal);
        } catch {
          break;
        }
      }
    }
  }

  for (const stream of streams.values()) void runStream(stream);

  return () => {
    if (stopped) return;
    stopped = true;
    stopSignal.abort();
    for (const c of controllers) c.abort();
    controllers.clear();
    if (timer) clearTimeout(timer);
    pending.clear();
  };
}
