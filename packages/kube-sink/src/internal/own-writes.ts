import { refKey } from '@converge/core';
import type { KubeObject, ObjectRef } from '@converge/core';
import { fingerprint } from './fingerprint.js';
import type { ReadFence } from './informer.js';
import { nextSequence } from './sequence.js';

/**
 * What this sink itself last wrote, so a watch can tell its own writes from drift: the
 * resourceVersions it got back from the server, the content it left behind, and the objects
 * it deleted; and what it last knew each object to hold (written or read), so a watch that
 * starts after a pass compares with what the pass planned against. Also what a watch cache
 * must have seen before it may answer this sink's reads (a {@link ReadFence} per object), so
 * a pass never plans against a state older than its own writes.
 */
export class OwnWrites {
  readonly #versions = new Map<string, Set<string>>();
  readonly #content = new Map<string, string>();
  readonly #lastKnown = new Map<string, string>();
  readonly #deleted = new Set<string>();
  readonly #fences = new Map<string, ReadFence>();

  /** Records an object as stored by one of our writes. */
  wrote(ref: ObjectRef, stored: KubeObject): void {
    const key = refKey(ref);
    const rv = stored.metadata.resourceVersion;
    if (typeof rv === 'string') {
      let set = this.#versions.get(key);
      if (!set) this.#versions.set(key, (set = new Set()));
      set.add(rv);
      // Only the last few matter; watches catch up within seconds.
      if (set.size > 8) set.delete(set.values().next().value as string);
    }
    const fp = fingerprint(stored);
    this.#content.set(key, fp);
    this.#lastKnown.set(key, fp);
    this.#deleted.delete(key);
    this.#fences.set(key, { resourceVersion: typeof rv === 'string' ? rv : undefined, sequence: nextSequence() });
  }

  /** Records that we deleted an object. */
  deleted(ref: ObjectRef): void {
    const key = refKey(ref);
    this.#deleted.add(key);
    this.#content.delete(key);
    this.#lastKnown.delete(key);
    this.#fences.set(key, { resourceVersion: undefined, sequence: nextSequence() });
  }

  /** What a cache must have seen of `ref` before its answer is as new as what this sink knows; `undefined`: anything. */
  fence(ref: ObjectRef): ReadFence | undefined {
    return this.#fences.get(refKey(ref));
  }

  /** A cache answered for `ref`, so it has caught up with the fence; caches only move forward. */
  settled(ref: ObjectRef): void {
    this.#fences.delete(refKey(ref));
  }

  /** The server answered a read of `ref` (`undefined`: absent); a fenced object's fence moves up to it. */
  sawLive(ref: ObjectRef, live: KubeObject | undefined): void {
    const key = refKey(ref);
    if (!this.#fences.has(key)) return;
    const rv = live?.metadata.resourceVersion;
    this.#fences.set(key, { resourceVersion: typeof rv === 'string' ? rv : undefined, sequence: nextSequence() });
  }

  /** Records an object as a read of this sink found it. */
  read(ref: ObjectRef, live: KubeObject): void {
    this.#lastKnown.set(refKey(ref), fingerprint(live));
  }

  /**
   * The content fingerprint of the object as this sink last knew it: what its last write left or
   * its last read found. A change made after that and before a watch follows the object is drift.
   */
  lastKnown(ref: ObjectRef): string | undefined {
    return this.#lastKnown.get(refKey(ref));
  }

  /** Whether `obj` (as a watch saw it) is exactly what one of our writes produced. */
  isOwnVersion(ref: ObjectRef, obj: KubeObject): boolean {
    const rv = obj.metadata.resourceVersion;
    return typeof rv === 'string' && this.#versions.get(refKey(ref))?.has(rv) === true;
  }

  /** The content fingerprint our last write left, if any. */
  content(ref: ObjectRef): string | undefined {
    return this.#content.get(refKey(ref));
  }

  /** Whether the last thing we did to the object was deleting it. */
  wasDeleted(ref: ObjectRef): boolean {
    return this.#deleted.has(refKey(ref));
  }
}
