import { formatPlan, type Plan } from '@converge/core';
import type { Forge } from './forge.js';
import { ForgeError } from './forge-error.js';

/** Options of {@link commentPlan}. */
export interface CommentPlanOptions {
  /** The repository on its forge. */
  forge: Forge;
  /** The merge request's number. */
  mergeRequest: number;
  /** The plan to show, e.g. from `reconciler.preview()`. */
  plan: Pick<Plan, 'changes'>;
  /**
   * Names the comment: one comment per key and merge request, found again by a hidden marker
   * (`<!-- converge:plan:<key> -->`) and updated in place. Use the reconciler's name.
   */
  key: string;
  /** The heading. @default `Converge plan: ${key}` */
  title?: string;
  /** The revision planned, shown under the heading. */
  revision?: string;
  /** Most characters of the comment; never more than the forge's limit. @default forge.maxCommentLength */
  maxLength?: number;
  /** Cancels the forge calls. */
  signal?: AbortSignal;
}

/** What {@link commentPlan} did. */
export type CommentPlanResult =
  | { action: 'created' | 'updated'; commentId: number }
  /** The comment already says this. */
  | { action: 'unchanged'; commentId: number };

/** The hidden first line that marks the comment of one key. */
export function planCommentMarker(key: string): string {
  return `<!-- converge:plan:${key.replace(/-->/g, '')} -->`;
}

/**
 * Posts the plan of a merge request's head as a comment (Markdown from `formatPlan`, Secret
 * values masked), or updates the one it posted before for the same `key`, so a merge request
 * keeps one plan comment per environment that follows each push. Long plans are cut at a line
 * with a note of what was left out, never past the forge's comment limit.
 *
 * @throws {@link ForgeError} when the forge cannot be read or written.
 *
 * @example
 * ```ts
 * const { revision, plan } = await reconciler.preview();
 * await commentPlan({ forge, mergeRequest: 12, plan, key: 'production', revision });
 * ```
 */
export async function commentPlan(options: CommentPlanOptions): Promise<CommentPlanResult> {
  const { forge, mergeRequest } = options;
  const marker = planCommentMarker(options.key);
  const limit = Math.min(options.maxLength ?? forge.maxCommentLength, forge.maxCommentLength);
  const heading = `${marker}\n`;
  const revisionLine = options.revision ? `Revision \`${options.revision}\`\n\n` : '';
  const room = limit - heading.length - revisionLine.length;
  if (room < 200) throw new ForgeError('FORGE_INVALID_OPTIONS', `${forge.kind}: a plan comment needs at least ${heading.length + revisionLine.length + 200} characters, maxLength is ${limit}`, { data: { forge: forge.kind } });
  const markdown = formatPlan(options.plan, { format: 'markdown', title: options.title ?? `Converge plan: ${options.key}`, maxLength: room });
  // formatPlan puts the title first; the revision goes right under it.
  const [first, ...rest] = markdown.split('\n');
  const body = `${heading}${first}\n\n${revisionLine}${rest.join('\n').replace(/^\n+/, '')}`.slice(0, limit);
  const signal = options.signal && { signal: options.signal };

  const existing = (await forge.listComments(mergeRequest, signal)).find((c) => c.body.startsWith(marker));
  if (existing) {
    if (existing.body === body) return { action: 'unchanged', commentId: existing.id };
    await forge.updateComment(mergeRequest, existing.id, body, signal);
    return { action: 'updated', commentId: existing.id };
  }
  const created = await forge.createComment(mergeRequest, body, signal);
  return { action: 'created', commentId: created.id };
}
