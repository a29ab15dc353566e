import { Octokit } from '@octokit/rest';
import type { Clock } from '@converge/core';
import type { Approval, CommitState, CommitStatus, Forge, MergeRequest } from './forge.js';
import { ForgeHttp } from './internal/forge-http.js';
import { httpOptions, splitRepository, tokenFrom } from './internal/options.js';
import { approvalsInForce } from './internal/review-verdicts.js';
import { readIssueComment, readPullRequest } from './internal/pull-request.js';
import { Shape } from './internal/shape.js';

/** Options of {@link githubForge}. */
export interface GithubForgeOptions {
  /** The repository, `owner/name`. */
  repository: string;
  /**
   * A token (fine-grained: Commit statuses, Pull requests and Contents read/write; or a GitHub
   * App installation token). Never appears in errors.
   * @default process.env.GITHUB_TOKEN
   */
  token?: string;
  /** The API root; for GitHub Enterprise Server `https://<host>/api/v3`. @default 'https://api.github.com' */
  baseUrl?: string;
  /** The HTTP client Octokit uses. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Deadline of each request, in ms. @default 15000 */
  timeoutMs?: number;
  /** Tries after the first for outages, 5xx and rate limits (Retry-After and x-ratelimit-reset honoured). @default 3 */
  retries?: number;
  /** Clock used to wait between tries. @default systemClock */
  clock?: Clock;
}

/**
 * A {@link Forge} on GitHub's REST API through `@octokit/rest`: a thin mapping of each method
 * to one documented endpoint (commit statuses, pulls, reviews, issue comments, git refs).
 * GitHub cannot be reached from Converge's CI: this adapter is tested at the request level
 * against the documented request and answer shapes, not against github.com.
 *
 * @throws {@link ForgeError} `FORGE_INVALID_OPTIONS` when there is no token or `repository` is not `owner/name`.
 *
 * @example
 * ```ts
 * const forge = githubForge({ repository: 'acme/deploy' }); // token from GITHUB_TOKEN
 * ```
 */
export function githubForge(options: GithubForgeOptions): Forge {
  const [owner, repo] = splitRepository('github', options.repository);
  const token = tokenFrom('github', options.token, 'GITHUB_TOKEN');
  const http = new ForgeHttp({ forge: 'github', secrets: [token], ...httpOptions(options) });
  const octokit = new Octokit({
    auth: token,
    userAgent: 'converge-forge',
    ...(options.baseUrl && { baseUrl: options.baseUrl.replace(/\/$/, '') }),
    ...(options.fetch && { request: { fetch: options.fetch } }),
    // Errors and retries are ours; Octokit's logger would print request failures.
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const where = `${owner}/${repo}`;
  const run = <T>(operation: string, idempotent: boolean, signal: AbortSignal | undefined, fn: (request: { signal: AbortSignal }) => Promise<T>) =>
    http.retrying(`${operation} (${where})`, idempotent, signal, (s) => fn({ signal: s }));

  const mergeRequest = (raw: unknown, operation: string): MergeRequest => readPullRequest('github', raw, operation);
  const comment = (raw: unknown, operation: string) => readIssueComment('github', raw, operation);

  return {
    kind: 'github',
    repository: where,
    maxCommentLength: 65_536,

    async setCommitStatus(sha, status, o = {}) {
      await run('set commit status', true, o.signal, (request) =>
        octokit.rest.repos.createCommitStatus({ owner, repo, sha, state: status.state, context: status.context, description: (status.description ?? '').slice(0, 140), ...(status.targetUrl && { target_url: status.targetUrl }), request }),
      );
    },

    async listCommitStatuses(sha, o = {}): Promise<CommitStatus[]> {
      const op = 'list commit statuses';
      const { data } = await run(op, true, o.signal, (request) => octokit.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha, request }));
      const s = new Shape('github', op);
      return s.array(s.object(data, 'the combined status')['statuses'], 'statuses').map((raw) => {
        const st = s.object(raw, 'status');
        const targetUrl = s.optionalString(st['target_url'], 'target_url');
        return { context: s.string(st['context'], 'context'), state: s.string(st['state'], 'state') as CommitState, description: s.optionalString(st['description'], 'description') ?? '', ...(targetUrl && { targetUrl }) };
      });
    },

    async listMergeRequests(o = {}) {
      const op = 'list pull requests';
      const all = await run(op, true, o.signal, (request) =>
        octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: o.state === 'all' ? 'all' : 'open', sort: 'created', direction: 'desc', per_page: 100, ...(o.targetBranch !== undefined && { base: o.targetBranch }), request }),
      );
      return all.map((raw) => mergeRequest(raw, op));
    },

    async getMergeRequest(number, o = {}) {
      const { data } = await run(`get pull request #${number}`, true, o.signal, (request) => octokit.rest.pulls.get({ owner, repo, pull_number: number, request }));
      return mergeRequest(data, 'get pull request');
    },

    async mergeRequestsForCommit(sha, o = {}) {
      const op = 'find pull requests of a commit';
      const all = await run(op, true, o.signal, (request) => octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, { owner, repo, commit_sha: sha, per_page: 100, request }));
      return all.map((raw) => mergeRequest(raw, op)).filter((mr) => mr.headSha === sha || mr.mergeCommitSha === sha);
    },

    async listApprovals(number, o = {}): Promise<Approval[]> {
      const op = `list reviews of pull request #${number}`;
      const all = await run(op, true, o.signal, (request) => octokit.paginate(octokit.rest.pulls.listReviews, { owner, repo, pull_number: number, per_page: 100, request }));
      const s = new Shape('github', op);
      const reviews = all.map((raw) => {
        const r = s.object(raw, 'review');
        const commitSha = s.optionalString(r['commit_id'], 'commit_id');
        return { user: s.string(s.object(r['user'], 'user')['login'], 'user.login'), state: s.string(r['state'], 'state'), ...(commitSha && { commitSha }) };
      });
      return approvalsInForce(reviews, { approved: 'APPROVED', withdrawn: ['CHANGES_REQUESTED', 'DISMISSED'] });
    },

    async listComments(number, o = {}) {
      const op = `list comments of pull request #${number}`;
      const all = await run(op, true, o.signal, (request) => octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100, request }));
      return all.map((raw) => comment(raw, op));
    },

    async createComment(number, body, o = {}) {
      const { data } = await run(`comment on pull request #${number}`, false, o.signal, (request) => octokit.rest.issues.createComment({ owner, repo, issue_number: number, body, request }));
      return comment(data, 'create comment');
    },

    async updateComment(number, id, body, o = {}) {
      await run(`update comment ${id} on pull request #${number}`, true, o.signal, (request) => octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body, request }));
    },

    async createBranch(name, from, o = {}) {
      let sha = from;
      if (!/^[0-9a-f]{40}$/.test(from)) {
        const { data } = await run(`read branch ${from}`, true, o.signal, (request) => octokit.rest.git.getRef({ owner, repo, ref: `heads/${from}`, request }));
        const s = new Shape('github', `read branch ${from}`);
        sha = s.string(s.object(s.object(data, 'the ref')['object'], 'object')['sha'], 'object.sha');
      }
      await run(`create branch ${name}`, false, o.signal, (request) => octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${name}`, sha, request }));
    },

    async openMergeRequest(input, o = {}) {
      const op = `open a pull request from ${input.sourceBranch} into ${input.targetBranch}`;
      const { data } = await run(op, false, o.signal, (request) =>
        octokit.rest.pulls.create({ owner, repo, head: input.sourceBranch, base: input.targetBranch, title: input.title, body: input.body ?? '', request }),
      );
      const mr = mergeRequest(data, op);
      if (input.labels?.length) {
        await run(`label pull request #${mr.number}`, true, o.signal, (request) => octokit.rest.issues.addLabels({ owner, repo, issue_number: mr.number, labels: input.labels!, request }));
        mr.labels = [...new Set([...mr.labels, ...input.labels])];
      }
      return mr;
    },
  };
}
