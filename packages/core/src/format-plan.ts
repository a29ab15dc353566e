import fastJsonPatch from 'fast-json-patch';
import { stringify } from 'yaml';
import { countChanges, type UpdateChange } from './change.js';
import { normalize } from './normalize.js';
import { isSecret, MASK, maskSecret } from './mask.js';
import { formatRef } from './object.js';
import { inheritOrigin } from './origin.js';
import { touchesSensitive } from './sensitive.js';
import type { Plan } from './plan.js';

/** Options of {@link formatPlan}. */
export interface FormatPlanOptions {
  /**
   * `text` for terminals and CI logs; `markdown` for merge request comments (a summary line, the
   * changes in a collapsible diff block, cut to `maxLength`); `json` for tools (the summary and
   * each change with its ref and patch).
   * @default 'text'
   */
  format?: 'text' | 'markdown' | 'json';
  /** Also list unchanged objects. @default false */
  showUnchanged?: boolean;
  /** Print created objects in full (as YAML) rather than one line each. @default true */
  showCreated?: boolean;
  /**
   * Most characters of `markdown` output; the diff is cut at a line boundary with a note of
   * how many lines were left out. GitHub and GitLab comments hold about 65,000.
   * @default 60000
   */
  maxLength?: number;
  /** A heading for `markdown` output, e.g. the environment name. @default 'Plan' */
  title?: string;
}

/**
 * One line that sums a plan up, e.g. `2 to create, 1 to update, 0 to prune, 5 unchanged`.
 *
 * @example
 * ```ts
 * console.log(summarizePlan(p)); // "2 to create, 1 to update, 0 to prune, 5 unchanged"
 * ```
 */
export function summarizePlan(p: Pick<Plan, 'changes'>): string {
  const c = countChanges(p.changes);
  return `${c.created} to create, ${c.updated} to update, ${c.deleted} to prune, ${c.unchanged} unchanged`;
}

const SECRET_PATH = /^\/(data|stringData)(\/|$)/;

/**
 * A plan for people, merge requests and tools. As `text` (the default), like `kubectl diff` but
 * per field: `+` create, `~` update with `old → new` per JSON pointer, `-` delete. `markdown`
 * adds a summary line and wraps the text in a diff block for a comment; `json` is
 * `{ summary, changes: [{ action, ref, patch?, object? }] }`. Secret values, and values marked
 * with `markSensitive` on any object (decrypted SOPS values), are always masked, in every format.
 *
 * @example
 * ```ts
 * console.log(formatPlan(plan({ desired, live, inventory, prune: true })));
 * const comment = formatPlan(p, { format: 'markdown', title: 'staging' });
 * ```
 */
export function formatPlan(p: Pick<Plan, 'changes'>, options: FormatPlanOptions = {}): string {
  if (options.format === 'json') return planJson(p, options);
  if (options.format === 'markdown') return planMarkdown(p, options);
  return planText(p, options);
}

function planText(p: Pick<Plan, 'changes'>, options: FormatPlanOptions): string {
  const { showUnchanged = false, showCreated = true } = options;
  const out: string[] = [];
  for (const change of p.changes) {
    if (change.action === 'unchanged') {
      if (showUnchanged) out.push(`  ${formatRef(change.ref)} (unchanged)`);
    } else if (change.action === 'create') {
      out.push(`+ ${formatRef(change.ref)} (create)`);
      if (showCreated) out.push(indent(stringify(maskSecret(inheritOrigin(normalize(change.desired), change.desired))), '+   '));
    } else if (change.action === 'delete') {
      out.push(`- ${formatRef(change.ref)} (delete)`);
    } else {
      out.push(`~ ${formatRef(change.ref)} (update)`, ...formatPatch(change));
    }
  }
  return out.join('\n');
}

function planMarkdown(p: Pick<Plan, 'changes'>, options: FormatPlanOptions): string {
  const maxLength = options.maxLength ?? 60_000;
  const head = `### ${options.title ?? 'Plan'}: ${summarizePlan(p)}\n\n`;
  const text = planText(p, options);
  if (text === '') return `${head}No changes.\n`;
  const open = '<details><summary>Changes</summary>\n\n```diff\n';
  const close = '\n```\n</details>\n';
  const lines = text.split('\n');
  const budget = maxLength - head.length - open.length - close.length - 80;
  let used = 0;
  let kept = 0;
  while (kept < lines.length && used + lines[kept]!.length + 1 <= budget) used += lines[kept++]!.length + 1;
  const cut = lines.length - kept;
  // A fence inside the diff would end the block early.
  const body = lines.slice(0, kept).join('\n').replaceAll('```', '`\u200b``');
  return `${head}${open}${body}${cut > 0 ? `\n… ${cut} more lines not shown` : ''}${close}`;
}

function planJson(p: Pick<Plan, 'changes'>, options: FormatPlanOptions): string {
  const changes = p.changes
    .filter((c) => options.showUnchanged || c.action !== 'unchanged')
    .map((c) => {
      const desired = c.action === 'delete' ? undefined : c.desired;
      const secret = desired !== undefined && isSecret(desired);
      const hidden = (path: string) => (secret && SECRET_PATH.test(path)) || (desired !== undefined && touchesSensitive(desired, path));
      return {
        action: c.action,
        ref: c.ref,
        ...(c.action === 'update' && { patch: c.patch.map((op) => (hidden(op.path) && 'value' in op ? { ...op, value: MASK } : op)) }),
        ...(c.action === 'create' && { object: maskSecret(inheritOrigin(normalize(c.desired), c.desired)) }),
      };
    });
  return JSON.stringify({ summary: countChanges(p.changes), changes }, null, 2);
}

function formatPatch(change: UpdateChange): string[] {
  const secret = isSecret(change.desired);
  const live = normalize(change.live);
  return change.patch.map((op) => {
    const masked = (secret && SECRET_PATH.test(op.path)) || touchesSensitive(change.desired, op.path);
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
