import fastJsonPatch from 'fast-json-patch';
import { stringify } from 'yaml';
import type { Change } from './change.js';
import { normalize } from './normalize.js';
import { isSecret, MASK, maskSecret } from './mask.js';
import { formatRef } from './object.js';
import type { Plan } from './plan.js';

/** Options of {@link formatPlan}. */
export interface FormatPlanOptions {
  /** Also list unchanged objects. @default false */
  showUnchanged?: boolean;
  /** Print created objects in full (as YAML) rather than one line each. @default true */
  showCreated?: boolean;
}

const SECRET_PATH = /^\/(data|stringData)(\/|$)/;

/**
 * A plan as text for people and CI logs, like `kubectl diff` but per field: `+` create,
 * `~` update with `old → new` per JSON pointer, `-` delete. Secret values are always masked.
 *
 * @example
 * ```ts
 * console.log(formatPlan(plan({ desired, live, inventory, prune: true })));
 * ```
 */
export function formatPlan(p: Pick<Plan, 'changes'>, options: FormatPlanOptions = {}): string {
  const { showUnchanged = false, showCreated = true } = options;
  const out: string[] = [];
  for (const change of p.changes) {
    if (change.action === 'unchanged') {
      if (showUnchanged) out.push(`  ${formatRef(change.ref)} (unchanged)`);
    } else if (change.action === 'create') {
      out.push(`+ ${formatRef(change.ref)} (create)`);
      if (showCreated && change.desired) out.push(indent(stringify(maskSecret(normalize(change.desired))), '+   '));
    } else if (change.action === 'delete') {
      out.push(`- ${formatRef(change.ref)} (delete)`);
    } else {
      out.push(`~ ${formatRef(change.ref)} (update)`, ...formatPatch(change));
    }
  }
  return out.join('\n');
}

function formatPatch(change: Change): string[] {
  const secret = change.desired !== undefined && isSecret(change.desired);
  const live = change.live ? normalize(change.live) : {};
  return (change.patch ?? []).map((op) => {
    const masked = secret && SECRET_PATH.test(op.path);
    const show = (value: unknown) => (masked ? MASK : JSON.stringify(value));
    const before = op.op === 'add' ? undefined : valueAt(live, op.path);
    switch (op.op) {
      case 'add':
        return `    + ${op.path}: ${show(op.value)}`;
      case 'remove':
        return `    - ${op.path}: ${show(before)}`;
      case 'replace':
        return `    ~ ${op.path}: ${show(before)} → ${show(op.value)}`;
      default:
        return `    ${op.op} ${op.path}`;
    }
  });
}

function valueAt(doc: object, pointer: string): unknown {
  try {
    return fastJsonPatch.getValueByPointer(doc, pointer);
  } catch {
    return undefined;
  }
}

function indent(text: string, prefix: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
