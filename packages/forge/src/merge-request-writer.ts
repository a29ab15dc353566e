import type { Forge, MergeRequest } from './forge.js';
import { ForgeError } from './forge-error.js';

/** What {@link mergeRequestWriter} needs of a writer: `gitWriter` from `@converge/git-source` fits. */
export interface BranchWriter<Request> {
  /** Commits and pushes a change to the writer's branch. */
  update(request: Request): Promise<{ pushed: boolean; commit: string }>;
}

/** Options of {@link mergeRequestWriter}. */
export interface MergeRequestWriterOptions<Request> {
  /** The repository on its forge. */
  forge: Forge;
  /** The branch changes are proposed to (e.g. `production`). */
  targetBranch: string;
  /** A writer for a branch, e.g. `(branch) => gitWriter({ url, branch, auth, author })`. */
  writer: (branch: string) => BranchWriter<Request>;
}

/** One proposal of {@link MergeRequestWriter.propose}. */
export interface ProposeInput<Request> {
  /** The branch to push to; created from the target branch when missing. */
  branch: string;
  /** The change, as the writer takes it (for `gitWriter`: `{ change, message }`). */
  change: Request;
  /** Title of the merge request (when one is opened). */
  title: string;
  /** Its description. @default '' */
  body?: string;
  /** Labels to put on it. @default [] */
  labels?: string[];
}

/** What {@link MergeRequestWriter.propose} did. */
export interface ProposeResult {
  /** The merge request carrying the change (opened now, or the one already open for the branch). */
  mergeRequest: MergeRequest;
  /** Whether the merge request was opened by this call. */
  opened: boolean;
  /** Whether a commit was pushed (false when the branch already had the change). */
  pushed: boolean;
  /** The branch tip afterwards. */
  commit: string;
}

/** Proposes changes through merge requests. */
export interface MergeRequestWriter<Request> {
  /** Pushes a change to `branch` (created when missing) and opens a merge request into the target branch, or reuses the open one. */
  propose(input: ProposeInput<Request>, options?: { signal?: AbortSignal }): Promise<ProposeResult>;
}

/**
 * Promotion through merge requests: instead of pushing to the target branch, push the change
 * to a branch of its own and open a merge request, so a person approves (and merges) it. A
 * second proposal on the same branch adds a commit to the same merge request.
 *
 * @example
 * ```ts
 * const promote = mergeRequestWriter({
 *   forge, targetBranch: 'production',
 *   writer: (branch) => gitWriter({ url, branch, auth: { token }, author: { name: 'converge', email: 'bot@acme.dev' } }),
 * });
 * await promote.propose({
 *   branch: 'promote/shop-1.4.0', title: 'Promote shop 1.4.0 to production', labels: ['promotion'],
 *   change: { change: (files) => files.update('prod/shop.yaml', (t) => t.replace('1.3.9', '1.4.0')), message: 'shop 1.4.0' },
 * });
 * ```
 */
export function mergeRequestWriter<Request>(options: MergeRequestWriterOptions<Request>): MergeRequestWriter<Request> {
  const { forge, targetBranch } = options;
  return {
    async propose(input, o = {}) {
      if (input.branch === targetBranch) {
        throw new ForgeError('FORGE_INVALID_OPTIONS', `${forge.kind}: cannot propose from ${targetBranch} into itself; name a branch of its own`, { data: { forge: forge.kind } });
      }
      const signal = o.signal && { signal: o.signal };
      const open = (await forge.listMergeRequests({ state: 'open', targetBranch, ...signal })).find((mr) => mr.sourceBranch === input.branch);
      if (!open) {
        try {
          await forge.createBranch(input.branch, targetBranch, signal);
        } catch (e) {
          // Already there (an earlier proposal whose merge request was closed): push onto it.
          const status = e instanceof ForgeError ? e.data['status'] : undefined;
          if (status !== 409 && status !== 422 && status !== 400) throw e;
        }
      }
      const written = await options.writer(input.branch).update(input.change);
      const mergeRequest = open ?? (await forge.openMergeRequest({ sourceBranch: input.branch, targetBranch, title: input.title, body: input.body ?? '', labels: input.labels ?? [] }, signal));
      return { mergeRequest, opened: !open, pushed: written.pushed, commit: written.commit };
    },
  };
}
