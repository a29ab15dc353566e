import { systemClock, sleep, toConvergeError, type Clock, type ConvergeError } from '@converge/core';
import type { FleetEvent } from '@converge/fleet';
import { commitOf } from './commit-of.js';
import type { CommitState, Forge } from './forge.js';

/** Anything with reconciler events: a `Reconciler`, or a `Fleet` (its applications' events; its own `fleet.*` events are ignored). */
export interface EventSource {
  /** Subscribes to every event (a fleet's own `fleet.*` events among them); returns the unsubscribe function. */
  on(type: '*', fn: (event: FleetEvent) => void): () => void;
}

/** One status write, as {@link ReportCommitStatusOptions.onWrite} sees it. */
export interface CommitStatusWrite {
  /** The commit. */
  sha: string;
  /** The status context, e.g. `converge/production`. */
  context: string;
  /** The state written. */
  state: CommitState;
  /** The one-line description written. */
  description: string;
}

/** Options of {@link reportCommitStatus}. */
export interface ReportCommitStatusOptions {
  /** Where statuses go. */
  forge: Forge;
  /**
   * The status context of a reconciler (a fleet's children are named `<fleet>-<app>`), or
   * `null` to report nothing for it (e.g. an application whose source is another repository).
   * @default (reconciler) => `converge/${reconciler}`
   */
  context?: (reconciler: string) => string | null;
  /** The commit of a revision. @default {@link commitOf} */
  commitOf?: (revision: string) => string | undefined;
  /** A link shown with every status (a dashboard). */
  targetUrl?: string;
  /**
   * Least time between two writes of the same commit and context, in ms; in between, only the
   * newest state is kept and written when the time is up (a retrying reconciler fails every few seconds).
   * @default 10000
   */
  minIntervalMs?: number;
  /**
   * Most writes per commit and context; then writing stops for it (GitHub keeps at most 1000
   * statuses per commit and context, Gitea and GitLab grow without end).
   * @default 100
   */
  maxWritesPerCommit?: number;
  /** Called when a write failed (after the forge client's retries). It never reaches the reconciler. @default a process warning */
  onError?: (error: ConvergeError, write: CommitStatusWrite) => void;
  /** Called after each successful write, e.g. for logs. */
  onWrite?: (write: CommitStatusWrite) => void;
  /** @default systemClock */
  clock?: Clock;
}

/** Stops {@link reportCommitStatus}; `flush()` resolves once every queued write is done. */
export interface CommitStatusSubscription {
  (): void;
  /** Writes what is queued now (ignoring `minIntervalMs`) and waits for it. */
  flush(): Promise<void>;
}

const DESCRIPTION = 140;

/**
 * Reports a reconciler's (or a fleet's applications') deployments as commit statuses, one
 * context per reconciler (`converge/production`): `pending` once when a pass starts on a new
 * revision (not again when it is retried), `success` when a pass leaves it in sync (and healthy, when the reconciler waits for
 * health), `failure` with the error's code and message when a pass fails — messages come from
 * the reconciler's errors, which already mask Secret values. Nothing is written when the state
 * and description are those last written; writes are spaced by `minIntervalMs` per commit and
 * context (only the newest is kept) and capped by `maxWritesPerCommit`. A failing forge is
 * reported to `onError` and never slows or breaks the reconciler.
 *
 * @returns an unsubscribe function with `flush()`.
 *
 * @example
 * ```ts
 * const forge = giteaForge({ url: 'https://gitea.example.com', repository: 'acme/deploy' });
 * const stop = reportCommitStatus(reconciler, { forge, context: () => 'converge/production' });
 * reconciler.start();
 * // on shutdown:
 * stop();
 * await stop.flush();
 * ```
 */
export function reportCommitStatus(target: EventSource, options: ReportCommitStatusOptions): CommitStatusSubscription {
  const contextOf = options.context ?? ((reconciler: string) => `converge/${reconciler}`);
  const shaOf = options.commitOf ?? commitOf;
  const minIntervalMs = options.minIntervalMs ?? 10_000;
  const maxWrites = options.maxWritesPerCommit ?? 100;
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? ((e: ConvergeError) => process.emitWarning(`converge: commit status not set: ${e.message}`));

  /** Per reconciler: the revision of the pass in flight. */
  const revisions = new Map<string, string>();
  /** Per reconciler: the revision last announced as pending (a retried failure is not "deploying" again). */
  const announced = new Map<string, string>();
  /** Per `sha context`: what was last written, when, how often, and what waits. */
  const slots = new Map<string, { written?: string; at: number; count: number; pending?: CommitStatusWrite; timer?: boolean }>();
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const enqueue = (write: CommitStatusWrite) => {
    const key = `${write.sha} ${write.context}`;
    const slot = slots.get(key) ?? { at: -Infinity, count: 0 };
    slots.set(key, slot);
    if (slot.written === `${write.state} ${write.description}` && !slot.pending) return;
    if (slot.count >= maxWrites) return;
    slot.pending = write;
    if (slot.timer) return;
    slot.timer = true;
    chain = chain.then(async () => {
      const wait = slot.at + minIntervalMs - clock.now();
      if (wait > 0 && !flushing) await sleep(clock, wait, wake.signal).catch(() => undefined);
      slot.timer = false;
      const next = slot.pending;
      delete slot.pending;
      if (!next || slot.written === `${next.state} ${next.description}` || slot.count >= maxWrites) return;
      try {
        await options.forge.setCommitStatus(next.sha, { context: next.context, state: next.state, description: next.description, ...(options.targetUrl && { targetUrl: options.targetUrl }) });
        slot.written = `${next.state} ${next.description}`;
        slot.at = clock.now();
        slot.count++;
        options.onWrite?.(next);
      } catch (thrown) {
        try {
          onError(toConvergeError(thrown), next);
        } catch {
          // a throwing handler must not break the chain
        }
      }
    });
  };
  let flushing = false;
  /** Aborted by flush() to cut a wait short. */
  let wake = new AbortController();

  const report = (reconciler: string, revision: string | undefined, state: CommitState, description: string) => {
    if (stopped || !revision) return;
    const context = contextOf(reconciler);
    const sha = shaOf(revision);
    if (context === null || !sha) return;
    enqueue({ sha, context, state, description: oneLine(description) });
  };

  const off = target.on('*', (event) => {
    switch (event.type) {
      case 'revision.checked':
        revisions.set(event.reconciler, event.revision);
        if (event.changed && announced.get(event.reconciler) !== event.revision) {
          announced.set(event.reconciler, event.revision);
          report(event.reconciler, event.revision, 'pending', `deploying ${short(event.revision)}`);
        }
        break;
      case 'pass.succeeded': {
        const c = event.counts;
        report(event.reconciler, event.revision, 'success', `in sync: ${c.created} created, ${c.updated} updated, ${c.deleted} pruned, ${c.unchanged} unchanged`);
        break;
      }
      case 'pass.failed':
        report(event.reconciler, event.revision ?? revisions.get(event.reconciler), 'failure', `${event.error.code}: ${event.error.message}`);
        break;
    }
  });

  const subscription = () => {
    stopped = true;
    off();
  };
  subscription.flush = async () => {
    flushing = true;
    wake.abort();
    try {
      let current: Promise<void>;
      do {
        current = chain;
        await current;
      } while (current !== chain);
    } finally {
      flushing = false;
      wake = new AbortController();
    }
  };
  return subscription;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= DESCRIPTION ? line : `${line.slice(0, DESCRIPTION - 1)}…`;
}

function short(revision: string): string {
  const sha = commitOf(revision);
  return sha ? revision.replace(sha, sha.slice(0, 8)) : revision;
}
