import type { Plan } from '@converge/core';
import { commentPlan, forgeOf } from '@converge/forge';
import type { CommentArgs } from './args.ts';

/**
 * `converge-push comment`: posts the plan of this run on a merge request as Markdown (Secret
 * values masked, long plans cut to the forge's limit), or updates the comment it posted before
 * for the same reconciler name — one comment per `--name`, found by its hidden marker.
 */
export async function commentCommand(args: CommentArgs, key: string, preview: { revision: string; plan: Pick<Plan, 'changes'> }): Promise<number> {
  // The variable was checked to be set before anything ran; '' (never another variable) makes the forge say so.
  const forge = forgeOf({ kind: args.forge, ...(args.url && { url: args.url }), repository: args.repository, token: process.env[args.tokenEnv] ?? '' });
  const result = await commentPlan({ forge, mergeRequest: args.mergeRequest, plan: preview.plan, key, revision: preview.revision });
  const where = `${args.forge === 'gitlab' ? '!' : '#'}${args.mergeRequest} of ${forge.repository}`;
  console.log(`converge-push comment: ${result.action === 'unchanged' ? 'comment already up to date' : `${result.action} comment`} ${result.commentId} on ${where}`);
  return 0;
}
