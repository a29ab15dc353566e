/** The state of a commit status, as every forge names it (Gitea and GitHub natively; GitLab's are mapped). */
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

/** One commit status to set: the result of one check (one reconciler, one environment) on one commit. */
export interface CommitStatusInput {
  /** Names the check, e.g. `converge/production`; a later status with the same context replaces it. */
  context: string;
  /** The result. */
  state: CommitState;
  /** One line shown next to the status; cut to the forge's limit (GitHub: 140 characters). */
  description?: string;
  /** A link shown with the status, e.g. a dashboard. */
  targetUrl?: string;
}

/** A commit status as the forge reports it. */
export interface CommitStatus {
  context: string;
  state: CommitState;
  description: string;
  targetUrl?: string;
}

/** A merge request (GitLab) or pull request (Gitea, GitHub). */
export interface MergeRequest {
  /** The number people use: `#12` (GitHub, Gitea) or `!12` (GitLab's `iid`). */
  number: number;
  title: string;
  /** `merged` is a closed merge request whose changes were merged. */
  state: 'open' | 'closed' | 'merged';
  /** The branch with the changes. */
  sourceBranch: string;
  /** The branch it merges into. */
  targetBranch: string;
  /** The commit at the tip of `sourceBranch`. */
  headSha: string;
  /** The commit that merged it, once merged. */
  mergeCommitSha?: string;
  /** Login of the user who opened it. */
  author: string;
  /** Label names. */
  labels: string[];
  /** Link for people. */
  url: string;
}

/** A review verdict on a merge request. */
export interface Approval {
  /** Login of the reviewer. */
  user: string;
  /** The head commit the approval was given on, when the forge says (Gitea, GitHub). */
  commitSha?: string;
}

/** A comment on a merge request. */
export interface MergeRequestComment {
  /** The forge's id of the comment (GitLab: the note id). */
  id: number;
  /** The Markdown body. */
  body: string;
  /** Login of the author. */
  author: string;
}

/** What to open with {@link Forge.openMergeRequest}. */
export interface OpenMergeRequestInput {
  /** The branch with the changes; it must exist. */
  sourceBranch: string;
  /** The branch to merge into. */
  targetBranch: string;
  /** The title. */
  title: string;
  /** Description. @default '' */
  body?: string;
  /** Label names to put on it; labels must exist in the repository. @default [] */
  labels?: string[];
}

/** Options of {@link Forge.listMergeRequests}. */
export interface ListMergeRequestsOptions {
  /** @default 'open' */
  state?: 'open' | 'all';
  /** Only merge requests into this branch. */
  targetBranch?: string;
  /** Cancels the listing. */
  signal?: AbortSignal;
}

/**
 * One repository on a forge, reduced to what a deployer needs: commit statuses, merge
 * requests, their comments and approvals, and branches to propose changes from. Providers:
 * `giteaForge`, `githubForge`, `gitlabForge`. Every method rejects with a {@link ForgeError}.
 */
export interface Forge {
  /** `gitea`, `github` or `gitlab`. */
  readonly kind: 'gitea' | 'github' | 'gitlab';
  /** The repository, `owner/name` (GitLab: the project path). */
  readonly repository: string;
  /** Most characters a comment body may have on this forge. */
  readonly maxCommentLength: number;
  /** Sets (adds) a status on a commit. */
  setCommitStatus(sha: string, status: CommitStatusInput, options?: { signal?: AbortSignal }): Promise<void>;
  /** The latest status per context on a commit. */
  listCommitStatuses(sha: string, options?: { signal?: AbortSignal }): Promise<CommitStatus[]>;
  /** Merge requests, newest first, every page. */
  listMergeRequests(options?: ListMergeRequestsOptions): Promise<MergeRequest[]>;
  /** One merge request by number. */
  getMergeRequest(number: number, options?: { signal?: AbortSignal }): Promise<MergeRequest>;
  /** The open merge requests whose head is `sha`, and the one that merged `sha` (others may be listed too). */
  mergeRequestsForCommit(sha: string, options?: { signal?: AbortSignal }): Promise<MergeRequest[]>;
  /** Approvals in force on a merge request (approved reviews not dismissed or withdrawn). */
  listApprovals(number: number, options?: { signal?: AbortSignal }): Promise<Approval[]>;
  /** Comments on a merge request, oldest first, every page. */
  listComments(number: number, options?: { signal?: AbortSignal }): Promise<MergeRequestComment[]>;
  /** Adds a comment; resolves with it. */
  createComment(number: number, body: string, options?: { signal?: AbortSignal }): Promise<MergeRequestComment>;
  /** Replaces a comment's body. */
  updateComment(number: number, id: number, body: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Creates a branch at the tip of another one (or at a commit). */
  createBranch(name: string, from: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Opens a merge request; resolves with it. */
  openMergeRequest(input: OpenMergeRequestInput, options?: { signal?: AbortSignal }): Promise<MergeRequest>;
}
