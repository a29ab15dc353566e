import { formatRef, type ReconcileEvent } from '@converge/core';

/** How {@link ciLogLine} words the end of a pass. */
export interface CiLogOptions {
  /** The pass persisted nothing (`--dry-run`). @default false */
  dryRun?: boolean;
}

/** One plain line per event worth showing in a CI log (no colours, no cursor tricks). Events carry refs, never object contents. */
export function ciLogLine(e: ReconcileEvent, options: CiLogOptions = {}): string | undefined {
  switch (e.type) {
    case 'revision.checked':
      return `revision ${e.revision}`;
    case 'rendered':
      return `rendered ${e.objects} ${e.objects === 1 ? 'object' : 'objects'}`;
    case 'planned':
      return `plan: ${e.counts.created} create, ${e.counts.updated} update, ${e.counts.deleted} prune, ${e.counts.unchanged} unchanged${e.dryRun ? ' (dry run)' : ''}`;
    case 'object.applied':
      return `${e.action === 'create' ? 'created' : 'updated'} ${formatRef(e.ref)}${e.dryRun ? ' (dry run)' : ''}`;
    case 'object.pruned':
      return `pruned ${formatRef(e.ref)}${e.dryRun ? ' (dry run)' : ''}`;
    case 'object.failed':
      return `FAILED ${formatRef(e.ref)} [${e.error.code}]: ${e.error.message}`;
    case 'prune.blocked':
      return `STOPPED: ${e.revision} would prune ${e.wouldDelete} objects, over the prune budget of ${e.allowed}`;
    case 'inventory.repaired':
      return `inventory repaired: dropped ${e.dropped.length} damaged ${e.dropped.length === 1 ? 'entry' : 'entries'}`;
    case 'health.changed':
      return `health ${formatRef(e.ref)}: ${e.health.status} — ${e.health.message}`;
    case 'pass.succeeded':
      return options.dryRun
        ? `dry run of ${e.revision} passed in ${(e.durationMs / 1000).toFixed(1)} s; nothing was persisted`
        : `applied ${e.revision} in ${(e.durationMs / 1000).toFixed(1)} s`;
    default:
      return undefined;
  }
}
