import type { Gate, GateResult } from '@converge/core';
import { commitOf } from './commit-of.js';
import type { Forge, MergeRequest } from './forge.js';

/** What makes a revision approved; see {@link approvalGate}. */
export interface ApprovalRequirements {
  /**
   * A commit that a merge request merged into one of these branches is approved: the merge
   * was the approval (protect the branch so that only merges reach it).
   * @default [] (merging alone does not approve)
   */
  mergedInto?: string[];
  /** An open merge request whose head is the commit needs this many approvals on that very commit. @default 1 */
  approvals?: number;
  /** …and carries every one of these labels. @default [] */
  labels?: string[];
  /** …and has a `success` commit status for every one of these contexts (e.g. CI). @default [] */
  statuses?: string[];
}

/** Options of {@link approvalGate}. */
export interface ApprovalGateOptions extends ApprovalRequirements {
  /** The repository on its forge. */
  forge: Forge;
  /** The commit of a revision. @default {@link commitOf} */
  commitOf?: (revision: string) => string | undefined;
  /** Shown in events and errors. @default 'forge-approval' */
  name?: string;
}

/**
 * A gate that lets a reconciler apply a revision only when the forge says it was approved:
 * either a merge request merged it into one of `mergedInto`, or an open merge request whose
 * head is the revision's commit has `approvals` approvals given on that commit (a push after
 * an approval needs a new one), every label in `labels` and a passing status for every
 * context in `statuses`. Anything else blocks the pass, saying what is missing; the runtime
 * retries blocked passes with backoff, so the revision deploys once a person approves.
 * A forge that cannot be reached fails the pass (retryable), which applies and prunes nothing.
 *
 * @example
 * ```ts
 * // Production follows the head of the promotion merge request, once someone approved it.
 * const gates = [approvalGate({ forge, approvals: 1, labels: ['promote'] })];
 * // Or: production follows its branch, and only commits that came through a merge count.
 * const gates2 = [approvalGate({ forge, mergedInto: ['production'] })];
 * ```
 */
export function approvalGate(options: ApprovalGateOptions): Gate {
  const shaOf = options.commitOf ?? commitOf;
  const mergedInto = options.mergedInto ?? [];
  const approvals = options.approvals ?? 1;
  const labels = options.labels ?? [];
  const statuses = options.statuses ?? [];
  const { forge } = options;

  async function openOk(mr: MergeRequest, sha: string, signal?: AbortSignal): Promise<string[]> {
    const missing: string[] = [];
    const o = signal && { signal };
    const given = (await forge.listApprovals(mr.number, o)).filter((a) => a.commitSha === undefined || a.commitSha === sha);
    if (given.length < approvals) missing.push(`${approvals - given.length} more approval${approvals - given.length === 1 ? '' : 's'} on ${sha.slice(0, 8)}`);
    const noLabel = labels.filter((l) => !mr.labels.includes(l));
    if (noLabel.length) missing.push(`label ${noLabel.map((l) => JSON.stringify(l)).join(', ')}`);
    if (statuses.length) {
      const states = new Map((await forge.listCommitStatuses(sha, o)).map((s) => [s.context, s.state]));
      const failing = statuses.filter((c) => states.get(c) !== 'success');
      if (failing.length) missing.push(`a passing ${failing.join(', ')} status`);
    }
    return missing;
  }

  return {
    name: options.name ?? 'forge-approval',
    async check(_objects, ctx): Promise<GateResult> {
      const sha = shaOf(ctx.revision);
      if (!sha) return { ok: false, message: `revision ${ctx.revision} names no commit, so no merge request can approve it` };
      const mrs = await forge.mergeRequestsForCommit(sha, ctx.signal && { signal: ctx.signal });
      const merged = mrs.find((mr) => mr.state === 'merged' && mr.mergeCommitSha === sha && mergedInto.includes(mr.targetBranch));
      if (merged) return { ok: true };
      const open = mrs.filter((mr) => mr.state === 'open' && mr.headSha === sha);
      const reasons: string[] = [];
      for (const mr of open) {
        const missing = await openOk(mr, sha, ctx.signal);
        if (missing.length === 0) return { ok: true };
        reasons.push(`${forge.kind === 'gitlab' ? '!' : '#'}${mr.number} needs ${missing.join(' and ')}`);
      }
      const how = mergedInto.length ? ` and no merge into ${mergedInto.join(', ')}` : '';
      return {
        ok: false,
        message: reasons.length ? `commit ${sha.slice(0, 8)} is not approved: ${reasons.join('; ')}` : `commit ${sha.slice(0, 8)} is not approved: no open merge request has it as head${how}`,
        data: { commit: sha, mergeRequests: mrs.map((mr) => mr.number) },
      };
    },
  };
}
