import { formatRef, type ReconcileEvent } from '@converge/core';

const ACTION = { create: '+ created', update: '~ updated' } as const;

/** One line per event, made for a terminal. */
export function printEvent(e: ReconcileEvent): void {
  const line = describe(e);
  if (line) console.log(`  ${line}`);
}

function describe(e: ReconcileEvent): string | undefined {
  switch (e.type) {
    case 'revision.checked':
      return `revision ${e.revision.slice(0, 19)}…${e.changed ? ' (new)' : ''}`;
    case 'rendered':
      return `rendered ${e.objects} objects${e.reused ? ' (reused)' : ''}`;
    case 'planned':
      return `plan: ${e.counts.created} to create, ${e.counts.updated} to update, ${e.counts.deleted} to prune, ${e.counts.unchanged} unchanged`;
    case 'object.applied':
      return `${ACTION[e.action]} ${formatRef(e.ref)}`;
    case 'object.pruned':
      return `- pruned  ${formatRef(e.ref)}`;
    case 'object.failed':
      return `✗ failed  ${formatRef(e.ref)}: ${e.error.message}`;
    case 'drift.detected':
      return `! drift   ${formatRef(e.ref)} (seen via ${e.via})`;
    case 'pass.succeeded':
      return `✓ in sync (${e.durationMs} ms)`;
    case 'pass.failed':
      return `✗ pass failed [${e.error.code}]: ${e.error.message}`;
    default:
      return undefined;
  }
}
