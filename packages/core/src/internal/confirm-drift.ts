import { createHash } from 'node:crypto';
import type { UpdateChange } from '../change.js';
import { normalize } from '../normalize.js';
import { refKey, type KubeObject } from '../object.js';
import type { Sink } from '../sink.js';

/**
 * What a dry run showed to be no change at all, by object: the desired object's digest and the
 * live resourceVersion it was checked against. While both stay the same, the same comparison
 * would give the same answer, so neither a dry run nor a write is needed.
 */
export type FalseDrift = Map<string, string>;

function digest(obj: KubeObject): string {
  return createHash('sha256').update(JSON.stringify(normalize(obj))).digest('hex');
}

function stamp(change: UpdateChange): string {
  return `${digest(change.desired)}@${String(change.live.metadata['resourceVersion'] ?? '')}`;
}

/**
 * Splits drift found by the local comparison into what the server confirms and false
 * positives. The local comparison matches arrays by position and values by spelling, so a
 * mutating webhook that inserts a sidecar, or the server writing `cpu: 0.5` as `500m`, looks
 * like drift on every pass. Each candidate is applied as a server-side dry run: if the object
 * the server would store equals the live one, nothing drifted. False positives are remembered
 * (see {@link FalseDrift}) so a steady state makes neither writes nor repeated dry runs.
 */
export async function confirmDrift(
  candidates: readonly UpdateChange[],
  o: { sink: Sink; owner: string; remembered: FalseDrift; signal: AbortSignal; withPrecondition(change: UpdateChange): KubeObject },
): Promise<{ confirmed: UpdateChange[]; falsePositives: UpdateChange[] }> {
  const confirmed: UpdateChange[] = [];
  const falsePositives: UpdateChange[] = [];
  const toCheck: UpdateChange[] = [];
  for (const change of candidates) {
    if (o.remembered.get(refKey(change.ref)) === stamp(change)) falsePositives.push(change);
    else toCheck.push(change);
  }
  if (toCheck.length === 0) return { confirmed, falsePositives };
  const results = await o.sink.apply(toCheck.map(o.withPrecondition), { dryRun: true, force: true, owner: o.owner, signal: o.signal });
  for (const [i, change] of toCheck.entries()) {
    const result = results[i];
    const same = result?.ok === true && JSON.stringify(normalize(result.object)) === JSON.stringify(normalize(change.live));
    if (same) {
      o.remembered.set(refKey(change.ref), stamp(change));
      falsePositives.push(change);
    } else {
      o.remembered.delete(refKey(change.ref));
      // A dry run that failed proves nothing: the real apply reports the error.
      confirmed.push(change);
    }
  }
  return { confirmed, falsePositives };
}
