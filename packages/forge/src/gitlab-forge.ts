import { Gitlab } from '@gitbeaker/rest';
import { createRequesterFn } from '@gitbeaker/requester-utils';
import type { Clock } from '@converge/core';
import type { CommitState, CommitStatus, Forge, MergeRequest, MergeRequestComment } from './forge.js';
import { ForgeHttp } from './internal/forge-http.js';
import { httpOptions, splitRepository, tokenFrom } from './internal/options.js';
import { Shape } from './internal/shape.js';

/** Options of {@link gitlabForge}. */
export interface GitlabForgeOptions {
  /** The project path, e.g. `acme/platform/deploy`. */
  project: string;
  /**
   * A token with the `api` scope (project or group access token, or a personal one). Never appears in errors.
   * @default process.env.GITLAB_TOKEN
   */
  token?: string;
  /** The GitLab instance. @default 'https://gitlab.com' */
  host?: string;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Deadline of each request, in ms. @default 15000 */
  timeoutMs?: number;
  /** Tries after the first for outages, 5xx and rate limits (Retry-After honoured). @default 3 */
  retries?: number;
  /** Clock used to wait between tries. @default systemClock */
  clock?: Clock;
}

// GitLab's own states: pending, running, success, failed, canceled.
const TO_GITLAB: Record<CommitState, 'pending' | 'success' | 'failed'> = { pending: 'pending', success: 'success', failure: 'failed', error: 'failed' };
const FROM_GITLAB: Record<string, CommitState> = { pending: 'pending', running: 'pending', created: 'pending', success: 'success', failed: 'failure', canceled: 'error', skipped: 'error' };

/**
 * A {@link Forge} on GitLab's REST API (v4) through `@gitbeaker/rest`: commit statuses, merge
 * requests (numbered by `iid`), their notes and approvals, branches. Gitbeaker builds the
 * requests; they are sent by Converge's HTTP client, so deadlines, Retry-After and errors
 * without tokens are the same as for the other forges. GitLab cannot be reached from
 * Converge's CI: this adapter is tested at the request level against the documented request
 * and answer shapes, not against gitlab.com.
 *
 * @throws {@link ForgeError} `FORGE_INVALID_OPTIONS` when there is no token or no project path.
 *
 * @example
 * ```ts
 * const forge = gitlabForge({ project: 'acme/deploy', host: 'https://gitlab.example.com' }); // token from GITLAB_TOKEN
 * ```
 */
export function gitlabForge(options: GitlabForgeOptions): Forge {
  splitRepository('gitlab', options.project);
  const token = tokenFrom('gitlab', options.token, 'GITLAB_TOKEN');
  const http = new ForgeHttp({ forge: 'gitlab', secrets: [token], ...httpOptions(options) });
  const project = options.project;

  // Gitbeaker's request handler retries 429 ten times without reading Retry-After; this one
  // sends each request through the shared client instead. Options arrive as gitbeaker's
  // defaultOptionsHandler made them (prefixUrl, searchParams, headers with the token, body).
  const requesterFn = createRequesterFn(
    (_service, requestOptions) => Promise.resolve(requestOptions),
    async (endpoint: string, options?: Record<string, unknown>) => {
      const o = options ?? {};
      const prefix = String(o['prefixUrl'] ?? '');
      const url = new URL(endpoint, prefix.endsWith('/') ? prefix : `${prefix}/`);
      if (typeof o['searchParams'] === 'string') url.search = o['searchParams'];
      const method = String(o['method'] ?? 'GET') as 'GET' | 'POST' | 'PUT' | 'DELETE';
      const res = await http.send({
        operation: `${method} ${url.pathname.replace(/^.*\/api\/v4\//, '')}`,
        method,
        url: url.href,
        headers: Object.fromEntries(Object.entries((o['headers'] ?? {}) as Record<string, string>)),
        ...(typeof o['body'] === 'string' && { body: o['body'] }),
        signal: (o['signal'] as AbortSignal | undefined) ?? undefined,
      });
      return { body: res.body as never, headers: Object.fromEntries(res.headers.entries()), status: res.status };
    },
  );
  const api = new Gitlab({ host: (options.host ?? 'https://gitlab.com').replace(/\/$/, ''), token, requesterFn, queryTimeout: null });

  function mergeRequest(raw: unknown, operation: string): MergeRequest {
    const s = new Shape('gitlab', operation);
    const mr = s.object(raw, 'the merge request');
    const state = s.string(mr['state'], 'state');
    const mergeCommitSha = s.optionalString(mr['squash_commit_sha'], 'squash_commit_sha') ?? s.optionalString(mr['merge_commit_sha'], 'merge_commit_sha');
    return {
      number: s.number(mr['iid'], 'iid'),
      title: s.string(mr['title'], 'title'),
      state: state === 'merged' ? 'merged' : state === 'opened' ? 'open' : 'closed',
      sourceBranch: s.string(mr['source_branch'], 'source_branch'),
      targetBranch: s.string(mr['target_branch'], 'target_branch'),
      headSha: s.string(mr['sha'], 'sha'),
      ...(state === 'merged' && mergeCommitSha && { mergeCommitSha }),
      author: s.string(s.object(mr['author'], 'author')['username'], 'author.username'),
      labels: s.array(mr['labels'] ?? [], 'labels').map((l) => (typeof l === 'string' ? l : s.string(s.object(l, 'label')['name'], 'label.name'))),
      url: s.string(mr['web_url'], 'web_url'),
    };
  }

  const note = (raw: unknown, operation: string): MergeRequestComment => {
    const s = new Shape('gitlab', operation);
    const n = s.object(raw, 'the note');
    return { id: s.number(n['id'], 'id'), body: s.string(n['body'], 'body'), author: s.string(s.object(n['author'], 'author')['username'], 'author.username') };
  };

  return {
    kind: 'gitlab',
    repository: project,
    // GitLab's note limit.
    maxCommentLength: 1_000_000,

    async setCommitStatus(sha, status) {
      await api.Commits.editStatus(project, sha, TO_GITLAB[status.state], { name: status.context, description: (status.description ?? '').slice(0, 255), ...(status.targetUrl && { targetUrl: status.targetUrl }) });
    },

    async listCommitStatuses(sha): Promise<CommitStatus[]> {
      const s = new Shape('gitlab', 'list commit statuses');
      const latest = new Map<string, CommitStatus>();
      for (const raw of s.array(await api.Commits.allStatuses(project, sha), 'statuses')) {
        const st = s.object(raw, 'status');
        const context = s.string(st['name'], 'name');
        const targetUrl = s.optionalString(st['target_url'], 'target_url');
        // Newest first: keep the first per name.
        if (!latest.has(context)) latest.set(context, { context, state: FROM_GITLAB[s.string(st['status'], 'status')] ?? 'error', description: s.optionalString(st['description'], 'description') ?? '', ...(targetUrl && { targetUrl }) });
      }
      return [...latest.values()];
    },

    async listMergeRequests(o = {}) {
      const all = await api.MergeRequests.all({ projectId: project, ...(o.state !== 'all' && { state: 'opened' }), ...(o.targetBranch !== undefined && { targetBranch: o.targetBranch }), orderBy: 'created_at', sort: 'desc', perPage: 100 });
      return new Shape('gitlab', 'list merge requests').array(all, 'the list').map((raw) => mergeRequest(raw, 'list merge requests'));
    },

    async getMergeRequest(number) {
      return mergeRequest(await api.MergeRequests.show(project, number), 'get merge request');
    },

    async mergeRequestsForCommit(sha) {
      const all = new Shape('gitlab', 'find merge requests of a commit').array(await api.Commits.allMergeRequests(project, sha), 'the list');
      return all.map((raw) => mergeRequest(raw, 'find merge requests of a commit')).filter((mr) => mr.headSha === sha || mr.mergeCommitSha === sha);
    },

    async listApprovals(number) {
      const s = new Shape('gitlab', `list approvals of merge request !${number}`);
      const config = s.object(await api.MergeRequestApprovals.showConfiguration(project, { mergerequestIId: number }), 'the approvals');
      // GitLab resets approvals on push when the project says so; it does not say on which commit they were given.
      return s.array(config['approved_by'] ?? [], 'approved_by').map((raw) => ({ user: s.string(s.object(s.object(raw, 'approver')['user'], 'user')['username'], 'user.username') }));
    },

    async listComments(number) {
      const op = `list notes of merge request !${number}`;
      const all = new Shape('gitlab', op).array(await api.MergeRequestNotes.all(project, number, { sort: 'asc', orderBy: 'created_at', perPage: 100 }), 'the list');
      return all.filter((raw) => (raw as { system?: unknown }).system !== true).map((raw) => note(raw, op));
    },

    async createComment(number, body) {
      return note(await api.MergeRequestNotes.create(project, number, body), 'create note');
    },

    async updateComment(number, id, body) {
      await api.MergeRequestNotes.edit(project, number, id, { body });
    },

    async createBranch(name, from) {
      await api.Branches.create(project, name, from);
    },

    async openMergeRequest(input) {
      const raw = await api.MergeRequests.create(project, input.sourceBranch, input.targetBranch, input.title, { description: input.body ?? '', ...(input.labels?.length && { labels: input.labels.join(',') }) });
      return mergeRequest(raw, `open a merge request from ${input.sourceBranch} into ${input.targetBranch}`);
    },
  };
}
