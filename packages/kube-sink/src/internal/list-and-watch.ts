import { sleep } from '@converge/core';
import type { Clock, ConvergeError, KubeObject } from '@converge/core';
import type { ResourceMapping } from '../discovery.js';
import { KubeHttpError } from '../errors.js';
import { toKubeError } from './to-kube-error.js';
import type { KubeStatus } from '../errors.js';
import { listAll } from '../get.js';
import { resourceName, resourcePath } from '../resource-path.js';
import type { KubeTransport } from '../transport.js';
import { nextSequence } from './sequence.js';
import { watchBackoff } from './watch-backoff.js';

/** A change a watch reported. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Options of {@link listAndWatch}. */
export interface ListAndWatchOptions {
  transport: KubeTransport;
  mapping: ResourceMapping;
  /** `undefined` watches a namespaced kind in all namespaces. */
  namespace: string | undefined;
  clock: Clock;
  random: () => number;
  /** Ends the loop. */
  signal: AbortSignal;
  /** How long the server keeps one watch open before the loop reopens it. @default 300 */
  watchTimeoutSeconds?: number;
  /** A complete LIST replaced what was known; `listSequence` was taken just before it was sent (see `nextSequence`). */
  onList(items: KubeObject[], listSequence: number): void;
  onEvent(type: WatchEventType, obj: KubeObject): void;
  /** A watch request opened (`true`) or ended (`false`). */
  onWatching(open: boolean): void;
  /** A LIST or watch failed; the loop retries with capped backoff. */
  onError(error: ConvergeError): void;
}

interface WatchEvent {
  type: WatchEventType | 'BOOKMARK' | 'ERROR';
  object: KubeObject & Partial<KubeStatus>;
}

const isGone = (err: unknown): boolean => err instanceof KubeHttpError && err.status === 410;

/**
 * client-go's reflector in small: LIST, then WATCH from the list's resourceVersion (with
 * bookmarks, so a quiet collection keeps a recent resourceVersion); a watch the server ends is
 * reopened from the last resourceVersion seen; `410 Gone` (the version was compacted away)
 * relists; failures are reported and retried with capped exponential backoff, resuming the
 * watch where it was when the version is still known. Runs until `signal` aborts.
 */
export async function listAndWatch(o: ListAndWatchOptions): Promise<void> {
  const backoff = watchBackoff(o.random);
  const path = resourcePath(o.mapping, o.namespace);
  const resource = resourceName(o.mapping);
  let rv: string | undefined;
  let failures = 0;

  const watchOnce = async (from: string): Promise<void> => {
    rv = from;
    o.onWatching(true);
    try {
      await o.transport.stream(
        {
          method: 'GET',
          path,
          query: { watch: true, resourceVersion: from, allowWatchBookmarks: true, timeoutSeconds: o.watchTimeoutSeconds ?? 300 },
          signal: o.signal,
        },
        (value) => {
          const event = value as WatchEvent;
          if (event.type === 'ERROR') throw new KubeHttpError(event.object.code ?? 500, event.object as KubeStatus, 'watch error');
          const objRv = event.object.metadata?.resourceVersion;
          if (typeof objRv === 'string') rv = objRv;
          failures = 0;
          if (event.type !== 'BOOKMARK') o.onEvent(event.type, event.object);
        },
      );
    } finally {
      o.onWatching(false);
    }
  };

  // The LIST in a function of its own: a variable of this loop's frame would keep the whole
  // response (every object as sent, managedFields included) alive as long as the watch runs.
  const list = async (): Promise<string> => {
    const listSequence = nextSequence();
    const listed = await listAll(o.transport, o.mapping, o.namespace, o.signal);
    o.onList(listed.items, listSequence);
    return listed.resourceVersion ?? '';
  };

  while (!o.signal.aborted) {
    try {
      if (rv === undefined) rv = await list();
      const opened = o.clock.now();
      await watchOnce(rv);
      // A stream the server keeps closing at once must not become a busy loop.
      if (o.clock.now() - opened < 1000) await sleep(o.clock, 1000, o.signal);
    } catch (err) {
      if (o.signal.aborted) break;
      if (isGone(err)) {
        rv = undefined;
        continue;
      }
      failures++;
      o.onError(toKubeError(err, { verb: rv === undefined ? 'list' : 'watch', resource }));
      try {
        await sleep(o.clock, backoff.delay(failures), o.signal);
      } catch {
        break;
      }
    }
  }
}
