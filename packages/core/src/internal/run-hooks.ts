import { sleep, type Clock } from '../clock.js';
import { HookFailedError, type ConvergeError } from '../errors.js';
import { computeHealth, type HealthOptions } from '../health/compute-health.js';
import { conditionsOf } from './conditions.js';
import type { PassEmit } from './pass-emit.js';
import { stringField } from './object-fields.js';
import { waitUntilGone } from './wait-until-gone.js';
import { formatRef, refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';
import { groupByNumber, type HookPhase, type HookSpec } from '../phases.js';
import type { Sink } from '../sink.js';

/** A rendered hook and what makes it one. */
export interface Hook {
  object: KubeObject;
  spec: HookSpec;
}


/** What running hooks needs from the pass. */
export interface HookRun {
  owner: string;
  sink: Sink;
  clock: Clock;
  signal: AbortSignal;
  dryRun: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
  emit: PassEmit;
  /** Custom health checks, for hooks that are neither Jobs nor Pods. */
  health: HealthOptions;
  /** Turns an error into one safe to show (Secret values scrubbed). */
  redact(error: ConvergeError): ConvergeError;
}

/** Where a hook stands: finished well, finished badly, or still running. */
export function hookOutcome(obj: KubeObject, health: HealthOptions = {}): { done: false } | { done: true; ok: boolean; message: string } {
  if (obj.kind === 'Job' && obj.apiVersion === 'batch/v1') {
    for (const c of conditionsOf(obj)) {
      if (c.status !== 'True') continue;
      if (c.type === 'Complete') return { done: true, ok: true, message: 'Job completed' };
      if (c.type === 'Failed') return { done: true, ok: false, message: `Job failed: ${c.reason || 'Failed'}${c.message ? ` (${c.message})` : ''}` };
    }
    return { done: false };
  }
  if (obj.kind === 'Pod' && obj.apiVersion === 'v1') {
    const phase = stringField(obj, 'status.phase', '');
    if (phase === 'Succeeded') return { done: true, ok: true, message: 'Pod succeeded' };
    if (phase === 'Failed') return { done: true, ok: false, message: `Pod failed${stringField(obj, 'status.reason', '') ? `: ${stringField(obj, 'status.reason', '')}` : ''}` };
    return { done: false };
  }
  const result = computeHealth(obj, health);
  if (result.status === 'Current') return { done: true, ok: true, message: result.message };
  if (result.status === 'Failed') return { done: true, ok: false, message: result.message };
  return { done: false };
}

/**
 * Runs the hooks of one phase, in ascending weight: each group is created (after deleting a
 * previous object of the same name, unless the policy says otherwise), waited for — a Job to
 * complete, a Pod to succeed, anything else to be healthy — and deleted per its delete policy.
 * Rejects with `HOOK_FAILED` naming the first hook that failed or did not finish in time.
 * A dry run applies the hooks as a dry run and waits for nothing.
 */
export async function runHooks(phase: HookPhase, hooks: readonly Hook[], run: HookRun): Promise<void> {
  const own = hooks.filter((h) => h.spec.phase === phase);
  if (own.length === 0) return;
  if (phase !== 'Sync') run.emit({ type: 'phase.started', phase });
  for (const { items } of groupByNumber(own, (h) => h.spec.weight)) {
    const refs = items.map((h) => refOf(h.object));
    const recreate = items.filter((h) => h.spec.deletePolicies.includes('BeforeHookCreation')).map((h) => refOf(h.object));
    if (recreate.length > 0 && !run.dryRun) await deleteAndWait(phase, recreate, run);
    const results = await run.sink.apply(
      items.map((h) => h.object),
      { owner: run.owner, dryRun: run.dryRun, force: true, signal: run.signal },
    );
    for (const r of results) {
      if (!r.ok) throw run.redact(new HookFailedError(phase, r.ref, `could not be created: ${r.error.message}`, r.error));
      run.emit({ type: 'hook.applied', phase, ref: r.ref, dryRun: run.dryRun });
    }
    if (run.dryRun) continue;
    const outcomes = await waitForHooks(refs, run);
    const byKey = new Map(items.map((h) => [refKey(refOf(h.object)), h]));
    const cleanup: ObjectRef[] = [];
    let failure: HookFailedError | undefined;
    for (const { ref, ok, message } of outcomes) {
      run.emit({ type: 'hook.completed', phase, ref, result: ok ? 'succeeded' : 'failed', message });
      const policies = byKey.get(refKey(ref))?.spec.deletePolicies ?? [];
      if (policies.includes(ok ? 'HookSucceeded' : 'HookFailed')) cleanup.push(ref);
      if (!ok) failure ??= new HookFailedError(phase, ref, message);
    }
    if (cleanup.length > 0) await run.sink.delete(cleanup, { owner: run.owner, signal: run.signal });
    if (failure) throw run.redact(failure);
  }
}

/** Polls the hooks until each has finished, or the timeout passes (then the stragglers count as failed). */
async function waitForHooks(refs: readonly ObjectRef[], run: HookRun): Promise<{ ref: ObjectRef; ok: boolean; message: string }[]> {
  const deadline = run.clock.now() + run.timeoutMs;
  const finished = new Map<string, { ref: ObjectRef; ok: boolean; message: string }>();
  for (;;) {
    const pending = refs.filter((ref) => !finished.has(refKey(ref)));
    const live = new Map((await run.sink.get(pending, { signal: run.signal })).map((obj) => [refKey(refOf(obj)), obj]));
    for (const ref of pending) {
      const obj = live.get(refKey(ref));
      if (!obj) {
        finished.set(refKey(ref), { ref, ok: false, message: 'the hook object disappeared before it finished' });
        continue;
      }
      const outcome = hookOutcome(obj, { ...run.health, now: run.clock.now() });
      if (outcome.done) finished.set(refKey(ref), { ref, ok: outcome.ok, message: outcome.message });
    }
    if (finished.size === refs.length) return refs.map((ref) => finished.get(refKey(ref)) as { ref: ObjectRef; ok: boolean; message: string });
    if (run.clock.now() >= deadline) {
      for (const ref of refs) if (!finished.has(refKey(ref))) finished.set(refKey(ref), { ref, ok: false, message: `did not finish within ${run.timeoutMs} ms` });
      return refs.map((ref) => finished.get(refKey(ref)) as { ref: ObjectRef; ok: boolean; message: string });
    }
    await sleep(run.clock, run.pollIntervalMs, run.signal);
  }
}

/** Deletes hook objects left from an earlier run and waits until they are gone, so the new ones are fresh. */
async function deleteAndWait(phase: HookPhase, refs: readonly ObjectRef[], run: HookRun): Promise<void> {
  const results = await run.sink.delete(refs, { owner: run.owner, signal: run.signal });
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) throw run.redact(failed.error);
  // An object another owner holds was not deleted: applying over it fails with a clear error.
  const left = await waitUntilGone({ sink: run.sink, refs, owner: run.owner, clock: run.clock, timeoutMs: run.timeoutMs, pollIntervalMs: run.pollIntervalMs, signal: run.signal });
  if (left) throw new HookFailedError(phase, refOf(left), `the previous ${formatRef(refOf(left))} was not gone within ${run.timeoutMs} ms`);
}
