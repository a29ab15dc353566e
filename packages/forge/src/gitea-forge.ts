import type { Clock } from '@converge/core';
import type {
  Approval,
  CommitState,
  CommitStatus,
  CommitStatusInput,
  Forge,
  ListMergeRequestsOptions,
  MergeRequest,
  MergeRequestComment,
  OpenMergeRequestInput,
} from './forge.js';
import { ForgeError } from './forge-error.js';
import { ForgeHttp } from './internal/forge-http.js';
import { httpOptions, splitRepository, tokenFrom } from './internal/options.js';
import { approvalsInForce } from './internal/review-verdicts.js';
import { readIssueComment, readPullRequest } from './internal/pull-request.js';
import { Shape } from './internal/shape.js';

/** Options of {@link giteaForge}. */
export interface GiteaForgeOptions {
  /** The Gitea server, e.g. `https://gitea.example.com` (a sub-path install: `https://host/gitea`). */
  url: string | URL;
  /** The repository, `owner/name`. */
  repository: string;
  /**
   * An access token with the `write:repository` and `write:issue` scopes (`read:` for read-only
   * use). Never appears in errors.
   * @default process.env.GITEA_TOKEN
   */
  token?: string;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Deadline of each request, in ms. @default 15000 */
  timeoutMs?: number;
  /** Tries after the first for outages, 5xx and rate limits (Retry-After honoured). @default 3 */
  retries?: number;
  /** Clock used to wait between tries. @default systemClock */
  clock?: Clock;
}

const PAGE = 50;
const MAX_PAGES = 100;
const STATES: readonly CommitState[] = ['pending', 'success', 'failure', 'error'];

/**
 * A {@link Forge} on Gitea's REST API (`/api/v1`): commit statuses, pull requests, their
 * comments and reviews, branches. Also fits Forgejo, which keeps these endpoints.
 *
 * @throws {@link ForgeError} `FORGE_INVALID_OPTIONS` when there is no token or `repository` is not `owner/name`.
 *
 * @example
 * ```ts
 * const forge = giteaForge({ url: 'https://gitea.example.com', repository: 'acme/deploy' }); // token from GITEA_TOKEN
 * await forge.setCommitStatus(sha, { context: 'converge/production', state: 'success', description: 'in sync' });
 * ```
 */
export function giteaForge(options: GiteaForgeOptions): Forge {
  const [owner, name] = splitRepository('gitea', options.repository);
  const token = tokenFrom('gitea', options.token, 'GITEA_TOKEN');
  const api = `${new URL(options.url).href.replace(/\/$/, '')}/api/v1`;
  const repo = `${api}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
  const http = new ForgeHttp({ forge: 'gitea', secrets: [token], ...httpOptions(options) });
  const where = `${owner}/${name}`;

  async function call(operation: string, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await http.send({ operation: `${operation} (${where})`, method, url, headers: { authorization: `token ${token}` }, body, signal });
    return res.body;
  }

  async function pages(operation: string, url: string, signal?: AbortSignal): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const sep = url.includes('?') ? '&' : '?';
      const items = new Shape('gitea', operation).array(await call(operation, 'GET', `${url}${sep}limit=${PAGE}&page=${page}`, undefined, signal), 'the page');
      out.push(...items);
      if (items.length < PAGE) break;
    }
    return out;
  }

  const mergeRequest = (raw: unknown, operation: string): MergeRequest => readPullRequest('gitea', raw, operation);
  const comment = (raw: unknown, operation: string) => readIssueComment('gitea', raw, operation);

  const forge: Forge = {
    kind: 'gitea',
    repository: where,
    maxCommentLength: 65_535,

    async setCommitStatus(sha: string, status: CommitStatusInput, o = {}) {
      await call('set commit status', 'POST', `${repo}/statuses/${encodeURIComponent(sha)}`, {
        state: status.state,
        context: status.context,
        description: (status.description ?? '').slice(0, 255),
        ...(status.targetUrl && { target_url: status.targetUrl }),
      }, o.signal);
    },

    async listCommitStatuses(sha: string, o = {}): Promise<CommitStatus[]> {
      const op = 'list commit statuses';
      const s = new Shape('gitea', op);
      const combined = s.object(await call(op, 'GET', `${repo}/commits/${encodeURIComponent(sha)}/status`, undefined, o.signal), 'the combined status');
      return s.array(combined['statuses'] ?? [], 'statuses').map((raw) => {
        const st = s.object(raw, 'status');
        const state = s.string(st['status'] ?? st['state'], 'status');
        const targetUrl = s.optionalString(st['target_url'], 'target_url');
        return {
          context: s.string(st['context'], 'context'),
          state: (STATES as string[]).includes(state) ? (state as CommitState) : state === 'warning' ? 'failure' : 'error',
          description: s.optionalString(st['description'], 'description') ?? '',
          ...(targetUrl && { targetUrl }),
        };
      });
    },

    async listMergeRequests(o: ListMergeRequestsOptions = {}) {
      const op = 'list pull requests';
      const all = (await pages(op, `${repo}/pulls?state=${o.state === 'all' ? 'all' : 'open'}&sort=newest`, o.signal)).map((raw) => mergeRequest(raw, op));
      return o.targetBranch === undefined ? all : all.filter((mr) => mr.targetBranch === o.targetBranch);
    },

    async getMergeRequest(number: number, o = {}) {
      return mergeRequest(await call(`get pull request #${number}`, 'GET', `${repo}/pulls/${number}`, undefined, o.signal), 'get pull request');
    },

    async mergeRequestsForCommit(sha: string, o = {}) {
      const found = new Map<number, MergeRequest>();
      try {
        // Gitea answers this one for merge commits only.
        const merged = mergeRequest(await call('find the pull request that merged a commit', 'GET', `${repo}/commits/${encodeURIComponent(sha)}/pull`, undefined, o.signal), 'find pull request');
        found.set(merged.number, merged);
      } catch (e) {
        if (!(e instanceof ForgeError && e.code === 'FORGE_NOT_FOUND')) throw e;
      }
      // Open ones only: a gate runs this every pass, and closed ones approve nothing.
      for (const mr of await forge.listMergeRequests({ state: 'open', ...(o.signal && { signal: o.signal }) })) {
        if (mr.headSha === sha && !found.has(mr.number)) found.set(mr.number, mr);
      }
      return [...found.values()];
    },

    async listApprovals(number: number, o = {}): Promise<Approval[]> {
      const op = `list reviews of pull request #${number}`;
      const s = new Shape('gitea', op);
      const reviews = (await pages(op, `${repo}/pulls/${number}/reviews`, o.signal)).flatMap((raw) => {
        const r = s.object(raw, 'review');
        const commitSha = s.optionalString(r['commit_id'], 'commit_id');
        // Gitea marks a dismissed approval instead of adding a review.
        const state = r['dismissed'] === true ? 'DISMISSED' : s.string(r['state'], 'state');
        return [{ user: s.string(s.object(r['user'], 'user')['login'], 'user.login'), state, ...(commitSha && { commitSha }) }];
      });
      return approvalsInForce(reviews, { approved: 'APPROVED', withdrawn: ['REQUEST_CHANGES', 'DISMISSED'] });
    },

    async listComments(number: number, o = {}) {
      const op = `list comments of pull request #${number}`;
      return (await pages(op, `${repo}/issues/${number}/comments`, o.signal)).map((raw) => comment(raw, op));
    },

    async createComment(number: number, body: string, o = {}) {
      return comment(await call(`comment on pull request #${number}`, 'POST', `${repo}/issues/${number}/comments`, { body }, o.signal), 'create comment');
    },

    async updateComment(number: number, id: number, body: string, o = {}) {
      await call(`update comment ${id} on pull request #${number}`, 'PATCH', `${repo}/issues/comments/${id}`, { body }, o.signal);
    },

    async createBranch(branch: string, from: string, o = {}) {
      await call(`create branch ${branch}`, 'POST', `${repo}/branches`, { new_branch_name: branch, old_ref_name: from }, o.signal);
    },

    async openMergeRequest(input: OpenMergeRequestInput, o = {}) {
      const op = `open a pull request from ${input.sourceBranch} into ${input.targetBranch}`;
      let labels: number[] = [];
      if (input.labels?.length) {
        const s = new Shape('gitea', 'list labels');
        const known = new Map((await pages('list labels', `${repo}/labels`, o.signal)).map((raw) => {
          const l = s.object(raw, 'label');
          return [s.string(l['name'], 'name'), s.number(l['id'], 'id')] as const;
        }));
        const missing = input.labels.filter((l) => !known.has(l));
        if (missing.length) throw new ForgeError('FORGE_NOT_FOUND', `gitea: ${op} (${where}): no label ${missing.map((l) => JSON.stringify(l)).join(', ')} in the repository; create it first`, { data: { forge: 'gitea', operation: op } });
        labels = input.labels.map((l) => known.get(l)!);
      }
      const raw = await call(op, 'POST', `${repo}/pulls`, { head: input.sourceBranch, base: input.targetBranch, title: input.title, body: input.body ?? '', ...(labels.length && { labels }) }, o.signal);
      return mergeRequest(raw, op);
    },
  };
  return forge;
}

