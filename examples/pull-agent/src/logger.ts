import { formatRef, type ReconcileEvent } from '@converge/core';
import type { FleetEvent } from '@converge/fleet';

/** Writes one JSON object per line: the structured log a log shipper expects. */
export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** A JSON-lines logger on a stream. */
export function jsonLogger(stream: NodeJS.WritableStream = process.stdout): Log {
  return (level, msg, fields = {}) => stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/** Logs the fleet and application events worth a line. Secret values never appear: events carry refs only. */
export function logEvent(log: Log, e: FleetEvent): void {
  switch (e.type) {
    case 'fleet.pass.succeeded':
      if (e.added.length + e.updated.length + e.removed.length > 0) log('info', 'synced', { reconciler: e.fleet, revision: e.revision, added: e.added, updated: e.updated, removed: e.removed, durationMs: e.durationMs });
      return;
    case 'fleet.pass.failed':
      return log('error', 'pass failed', { reconciler: e.fleet, code: e.error.code, error: e.error.message, retryInMs: e.retryInMs });
    case 'fleet.suspended':
      return log('info', 'suspended', { reconciler: e.fleet });
    case 'fleet.resumed':
      return log('info', 'resumed', { reconciler: e.fleet });
    case 'fleet.pass.started':
      return;
    case 'app.added':
    case 'app.updated':
    case 'app.removed':
    case 'app.suspended':
    case 'app.resumed':
      return log('info', e.type, { reconciler: e.reconciler, app: e.app });
    case 'app.removeFailed':
      return log('error', e.type, { reconciler: e.reconciler, app: e.app, code: e.error.code, error: e.error.message });
    default:
      return logReconcileEvent(log, e);
  }
}

/** Logs one application reconciler's event, if it is worth a line. */
function logReconcileEvent(log: Log, e: ReconcileEvent): void {
  const r = { reconciler: e.reconciler };
  switch (e.type) {
    case 'revision.checked':
      if (e.changed) log('info', 'new revision', { ...r, revision: e.revision });
      return;
    case 'object.applied':
      return log('info', e.action === 'create' ? 'created' : 'updated', { ...r, object: formatRef(e.ref) });
    case 'object.pruned':
      return log('info', 'pruned', { ...r, object: formatRef(e.ref) });
    case 'object.failed':
      return log('error', 'object failed', { ...r, object: formatRef(e.ref), code: e.error.code, error: e.error.message });
    case 'drift.detected':
      return log('warn', 'drift detected', { ...r, object: formatRef(e.ref), via: e.via });
    case 'gate.blocked':
      return log('warn', 'gate blocked', { ...r, gate: e.gate, reason: e.message });
    case 'prune.blocked':
      return log('warn', 'prune blocked: over the prune budget, waiting for approval', { ...r, revision: e.revision, wouldDelete: e.wouldDelete, allowed: e.allowed });
    case 'inventory.repaired':
      return log('warn', 'inventory repaired: dropped entries no valid object could have written', { ...r, dropped: e.dropped });
    case 'pass.succeeded':
      if (e.counts.created + e.counts.updated + e.counts.deleted > 0) log('info', 'synced', { ...r, revision: e.revision, ...e.counts, durationMs: e.durationMs });
      return;
    case 'pass.failed':
      return log('error', 'pass failed', { ...r, code: e.error.code, error: e.error.message, retryInMs: e.retryInMs });
    case 'suspended':
    case 'resumed':
      return log('info', e.type, r);
    default:
      return;
  }
}
