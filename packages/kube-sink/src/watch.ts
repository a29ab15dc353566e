import { refKey } from '@converge/core';
import type { ConvergeError, DriftEvent, KubeObject, ObjectRef } from '@converge/core';
import type { SinkContext } from './internal/context.js';
import { createDebouncer } from './internal/debouncer.js';
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

interface Pending {
  event: DriftEvent;
  /** The fingerprint of the content that was seen, for a modification. */
  seen?: string;
}

/**
 * Watches the objects named by `refs` and calls `onDrift` when one is changed or deleted by
 * someone else. The watching itself is the sink's watch cache (one list-and-watch per kind,
 * shared by every reconciler on it); this is what one reconciler makes of the changes to its
 * objects. Our own writes are recognised by the resourceVersion and content they left; changes
 * to `status` alone are not drift. Reports are debounced per object; after a (re)list each
 * object is compared with what was last seen (or, at first, with what we last wrote or read). The
 * returned function stops this reconciler's watching; the cache ends a watch when its last
 * subscriber leaves.
 */
export function watchDrift(ctx: SinkContext, refs: readonly ObjectRef[], onDrift: (event: DriftEvent) => void, options: DriftWatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 250;
  const { ownWrites } = ctx;
  /** Fingerprint of each object as last seen, by refKey. */
  const known = new Map<string, string>();
  let stopped = false;

  const debouncer = createDebouncer<Pending>({
    waitMs: debounceMs,
    maxWaitMs: debounceMs * 4,
    clock: ctx.clock,
    flush(batch) {
      for (const { event, seen } of batch) {
        // A write of ours may have landed after the event was seen: drop what it explains.
        if (event.type === 'modified' && seen !== undefined && ownWrites.content(event.ref) === seen) continue;
        if (event.type === 'deleted' && ownWrites.wasDeleted(event.ref)) continue;
        try {
          onDrift(event);
        } catch {
          // A listener's failure must not stop the watch.
        }
      }
    },
  });
  const report = (ref: ObjectRef, type: DriftEvent['type'], seen?: string): void => {
    if (!stopped) debouncer.push(refKey(ref), { event: { ref, type }, ...(seen !== undefined && { seen }) });
  };

  const seeModified = (ref: ObjectRef, obj: KubeObject): void => {
    const fp = fingerprint(obj);
    const before = known.get(refKey(ref));
    known.set(refKey(ref), fp);
    if (ownWrites.isOwnVersion(ref, obj) || ownWrites.content(ref) === fp || before === fp) return;
    report(ref, 'modified', fp);
  };

  const unsubscribe = ctx.informers.subscribe(refs, ctx.defaultNamespace, {
    synced(ref, obj) {
      // A cache shared with others may have listed before our last write to this object: then
      // it says nothing about drift yet, and the watch event of our write comes next.
      if (!ctx.informers.caughtUp(ref, ctx.defaultNamespace, ownWrites.fence(ref))) return;
      const key = refKey(ref);
      if (obj) {
        const fp = fingerprint(obj);
        const before = known.get(key);
        known.set(key, fp);
        // First list: compare with what we last wrote or read; later lists: with what we last saw.
        const expected = before ?? ownWrites.lastKnown(ref);
        if (expected !== undefined && expected !== fp && ownWrites.content(ref) !== fp) report(ref, 'modified', fp);
      } else {
        const wasThere = known.delete(key) || ownWrites.lastKnown(ref) !== undefined;
        if (wasThere && !ownWrites.wasDeleted(ref)) report(ref, 'deleted');
      }
    },
    event(ref, type, obj) {
      if (type === 'DELETED') {
        known.delete(refKey(ref));
        if (!ownWrites.wasDeleted(ref)) report(ref, 'deleted');
      } else if (!ownWrites.wasDeleted(ref) || type === 'ADDED') {
        seeModified(ref, obj);
      }
    },
    error: (error) => options.onError?.(error),
  });

  return () => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    debouncer.cancel();
  };
}
