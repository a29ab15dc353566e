import { afterEach, describe, expect, it } from 'vitest';
import { gitlabForge } from '../src/index.js';
import { fakeApi, type FakeAnswer, type RecordedRequest } from './fake-api.js';

// GitLab cannot be reached from here: these tests check the requests the adapter (gitbeaker
// building them, our client sending them) makes and how it reads answers, against the shapes of
// GitLab's REST API v4 (https://docs.gitlab.com/api/: commits statuses, merge_requests, notes,
// merge request approvals, branches).

const SHA = 'b'.repeat(40);
const PROJECT = '/api/v4/projects/acme%2Fdeploy';
const mr = (iid: number, extra: Record<string, unknown> = {}) => ({
  id: 1000 + iid, iid, title: `MR ${iid}`, state: 'opened', source_branch: `feature-${iid}`, target_branch: 'main', sha: SHA,
  merge_commit_sha: null, squash_commit_sha: null, author: { username: 'alice' }, labels: ['preview'],
  web_url: `https://gitlab.example/acme/deploy/-/merge_requests/${iid}`, ...extra,
});

let api: Awaited<ReturnType<typeof fakeApi>> | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});
const start = async (answer: (r: RecordedRequest) => FakeAnswer | undefined, retries?: number) => {
  api = await fakeApi(answer);
  return gitlabForge({ project: 'acme/deploy', token: 'glpat-secret-value', host: api.url, ...(retries !== undefined && { retries }) });
};

describe('gitlabForge (request level)', () => {
  it('sets a commit status with POST /projects/:id/statuses/:sha, GitLab state names, PRIVATE-TOKEN auth', async () => {
    const forge = await start(() => ({ status: 201, body: { id: 1, status: 'failed', name: 'converge/prod' } }));
    await forge.setCommitStatus(SHA, { context: 'converge/prod', state: 'failure', description: 'YAML_SYNTAX: bad', targetUrl: 'https://dash.example' });
    const [req] = api!.requests;
    expect(req!.method).toBe('POST');
    expect(req!.url.split('?')[0]).toBe(`${PROJECT}/statuses/${SHA}`);
    const sent = { ...(new URL(req!.url, 'http://x').searchParams.size ? Object.fromEntries(new URL(req!.url, 'http://x').searchParams) : {}), ...(req!.body as object) };
    expect(sent).toMatchObject({ state: 'failed', name: 'converge/prod', description: 'YAML_SYNTAX: bad', target_url: 'https://dash.example' });
    expect(req!.headers['private-token']).toBe('glpat-secret-value');
  });

  it('reads the latest status per name, mapping running/failed/canceled', async () => {
    const forge = await start(() => ({ body: [
      { name: 'converge/prod', status: 'failed', description: 'new', target_url: null },
      { name: 'converge/prod', status: 'success', description: 'old' },
      { name: 'ci', status: 'running', description: null },
    ] }));
    expect(await forge.listCommitStatuses(SHA)).toEqual([
      { context: 'converge/prod', state: 'failure', description: 'new' },
      { context: 'ci', state: 'pending', description: '' },
    ]);
    expect(api!.requests[0]!.url.split('?')[0]).toBe(`${PROJECT}/repository/commits/${SHA}/statuses`);
  });

  it('lists opened merge requests by target branch and maps iid, sha and merged state', async () => {
    const forge = await start((r) => (r.url.startsWith(`${PROJECT}/merge_requests`) ? { body: [mr(4), mr(2, { state: 'merged', merge_commit_sha: 'c'.repeat(40) })] } : undefined));
    const list = await forge.listMergeRequests({ targetBranch: 'main' });
    const query = new URL(api!.requests[0]!.url, 'http://x').searchParams;
    expect(query.get('state')).toBe('opened');
    expect(query.get('target_branch')).toBe('main');
    expect(list).toEqual([
      { number: 4, title: 'MR 4', state: 'open', sourceBranch: 'feature-4', targetBranch: 'main', headSha: SHA, author: 'alice', labels: ['preview'], url: 'https://gitlab.example/acme/deploy/-/merge_requests/4' },
      expect.objectContaining({ number: 2, state: 'merged', mergeCommitSha: 'c'.repeat(40) }),
    ]);
  });

  it('reads approvals from /merge_requests/:iid/approvals and skips system notes', async () => {
    const forge = await start((r) => {
      if (r.url.startsWith(`${PROJECT}/merge_requests/4/approvals`)) return { body: { approved: true, approved_by: [{ user: { username: 'bob' } }] } };
      if (r.url.startsWith(`${PROJECT}/merge_requests/4/notes`)) return { body: [{ id: 1, body: 'added 1 commit', system: true, author: { username: 'alice' } }, { id: 2, body: 'plan', system: false, author: { username: 'bot' } }] };
      return undefined;
    });
    expect(await forge.listApprovals(4)).toEqual([{ user: 'bob' }]);
    expect(await forge.listComments(4)).toEqual([{ id: 2, body: 'plan', author: 'bot' }]);
  });

  it('creates notes, edits them, creates branches and opens merge requests with labels', async () => {
    const forge = await start((r) => {
      if (r.method === 'POST' && r.url.startsWith(`${PROJECT}/merge_requests/4/notes`)) return { status: 201, body: { id: 9, body: 'hi', author: { username: 'bot' } } };
      if (r.method === 'PUT' && r.url.startsWith(`${PROJECT}/merge_requests/4/notes/9`)) return { body: { id: 9, body: 'new', author: { username: 'bot' } } };
      if (r.method === 'POST' && r.url.startsWith(`${PROJECT}/repository/branches`)) return { status: 201, body: { name: 'promote/x' } };
      if (r.method === 'POST' && r.url.startsWith(`${PROJECT}/merge_requests`)) return { status: 201, body: mr(5, { labels: ['promotion'], source_branch: 'promote/x', target_branch: 'production' }) };
      return undefined;
    });
    expect(await forge.createComment(4, 'hi')).toEqual({ id: 9, body: 'hi', author: 'bot' });
    await forge.updateComment(4, 9, 'new');
    await forge.createBranch('promote/x', 'production');
    const opened = await forge.openMergeRequest({ sourceBranch: 'promote/x', targetBranch: 'production', title: 'Promote', labels: ['promotion', 'prod'] });
    expect(opened).toMatchObject({ number: 5, labels: ['promotion'], targetBranch: 'production' });
    const sent = api!.requests.map((r) => ({ method: r.method, path: r.url.split('?')[0], params: { ...Object.fromEntries(new URL(r.url, 'http://x').searchParams), ...(typeof r.body === 'object' ? (r.body as object) : {}) } }));
    expect(sent).toEqual([
      { method: 'POST', path: `${PROJECT}/merge_requests/4/notes`, params: expect.objectContaining({ body: 'hi' }) },
      { method: 'PUT', path: `${PROJECT}/merge_requests/4/notes/9`, params: expect.objectContaining({ body: 'new' }) },
      { method: 'POST', path: `${PROJECT}/repository/branches`, params: expect.objectContaining({ branch: 'promote/x', ref: 'production' }) },
      { method: 'POST', path: `${PROJECT}/merge_requests`, params: expect.objectContaining({ source_branch: 'promote/x', target_branch: 'production', title: 'Promote', labels: 'promotion,prod' }) },
    ]);
  });

  it('honours Retry-After once instead of gitbeaker retrying 429 ten times, and reports FORGE_RATE_LIMITED when it persists', async () => {
    let calls = 0;
    const forge = await start(() => {
      calls++;
      return { status: 429, body: { message: '429 Too Many Requests' }, headers: { 'retry-after': '0' } };
    }, 1);
    const e = (await forge.getMergeRequest(4).catch((x: unknown) => x)) as Error & { code: string; data: Record<string, unknown> };
    expect(calls).toBe(2);
    expect(e).toMatchObject({ code: 'FORGE_RATE_LIMITED', data: { forge: 'gitlab', status: 429, retryAfterMs: 0, retryable: true } });
    expect(e.message).not.toContain('glpat-secret-value');
  });

  it('maps 401 and 403 to typed errors, and an unreachable host to FORGE_UNREACHABLE', async () => {
    let answer: FakeAnswer = { status: 401, body: { message: '401 Unauthorized' } };
    const forge = await start(() => answer, 0);
    await expect(forge.listMergeRequests()).rejects.toMatchObject({ code: 'FORGE_UNAUTHORIZED' });
    answer = { status: 403, body: { message: '403 Forbidden' } };
    await expect(forge.createComment(1, 'x')).rejects.toMatchObject({ code: 'FORGE_FORBIDDEN', retryable: false });
    const down = gitlabForge({ project: 'acme/deploy', token: 't', host: 'http://127.0.0.1:9', retries: 0 });
    await expect(down.getMergeRequest(1)).rejects.toMatchObject({ code: 'FORGE_UNREACHABLE' });
  });
});
