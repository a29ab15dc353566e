import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@converge/core/testing';
import { githubForge } from '../src/index.js';
import { fakeApi, type FakeAnswer, type RecordedRequest } from './fake-api.js';

// GitHub cannot be reached from here: these tests check the requests the adapter sends and
// how it reads answers, against the shapes GitHub's REST API documents
// (https://docs.github.com/rest: commits/statuses, pulls, pulls/reviews, issues/comments, git/refs).

const SHA = 'a'.repeat(40);
const pull = (n: number, extra: Record<string, unknown> = {}) => ({
  number: n, title: `PR ${n}`, state: 'open', merged_at: null, merge_commit_sha: 'f'.repeat(40),
  head: { ref: `feature-${n}`, sha: SHA }, base: { ref: 'main' }, user: { login: 'octocat' },
  labels: [{ id: 1, name: 'preview' }], html_url: `https://github.com/acme/deploy/pull/${n}`, ...extra,
});

let api: Awaited<ReturnType<typeof fakeApi>> | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});
const start = async (answer: (r: RecordedRequest) => FakeAnswer | undefined) => {
  api = await fakeApi(answer);
  return githubForge({ repository: 'acme/deploy', token: 'ghp_secret_token_value', baseUrl: api.url });
};

describe('githubForge (request level)', () => {
  it('sets a commit status with POST /repos/{owner}/{repo}/statuses/{sha}, authenticated with the token', async () => {
    const forge = await start(() => ({ status: 201, body: { id: 1, state: 'failure', context: 'converge/prod' } }));
    await forge.setCommitStatus(SHA, { context: 'converge/prod', state: 'failure', description: 'x'.repeat(300), targetUrl: 'https://dash.example' });
    expect(api!.requests).toHaveLength(1);
    const [req] = api!.requests;
    expect(req).toMatchObject({ method: 'POST', url: `/repos/acme/deploy/statuses/${SHA}`, body: { state: 'failure', context: 'converge/prod', target_url: 'https://dash.example' } });
    expect((req!.body as { description: string }).description).toHaveLength(140);
    expect(req!.headers.authorization).toBe('token ghp_secret_token_value');
  });

  it('lists open pull requests over every page, filtered by base, and reads the documented fields', async () => {
    const forge = await start((r) => {
      if (!r.url.startsWith('/repos/acme/deploy/pulls?')) return undefined;
      const page = Number(new URL(r.url, 'http://x').searchParams.get('page') ?? '1');
      const next = `<${api!.url}/repos/acme/deploy/pulls?state=open&base=main&per_page=100&page=2>; rel="next"`;
      return page === 1 ? { body: [pull(3)], headers: { link: next } } : { body: [pull(2, { state: 'closed', merged_at: '2026-01-01T00:00:00Z' })] };
    });
    const mrs = await forge.listMergeRequests({ targetBranch: 'main' });
    expect(new URL(api!.requests[0]!.url, 'http://x').searchParams.get('base')).toBe('main');
    expect(api!.requests).toHaveLength(2);
    expect(mrs).toEqual([
      { number: 3, title: 'PR 3', state: 'open', sourceBranch: 'feature-3', targetBranch: 'main', headSha: SHA, author: 'octocat', labels: ['preview'], url: 'https://github.com/acme/deploy/pull/3' },
      expect.objectContaining({ number: 2, state: 'merged', mergeCommitSha: 'f'.repeat(40) }),
    ]);
  });

  it('counts the latest review per reviewer: a later CHANGES_REQUESTED withdraws an approval', async () => {
    const forge = await start((r) =>
      r.url.startsWith('/repos/acme/deploy/pulls/3/reviews')
        ? { body: [
            { id: 1, user: { login: 'ann' }, state: 'APPROVED', commit_id: SHA },
            { id: 2, user: { login: 'bob' }, state: 'APPROVED', commit_id: SHA },
            { id: 3, user: { login: 'bob' }, state: 'CHANGES_REQUESTED', commit_id: SHA },
            { id: 4, user: { login: 'cid' }, state: 'COMMENTED', commit_id: SHA },
          ] }
        : undefined,
    );
    expect(await forge.listApprovals(3)).toEqual([{ user: 'ann', commitSha: SHA }]);
  });

  it('comments and updates comments through the issues API', async () => {
    const forge = await start((r) => {
      if (r.method === 'POST' && r.url === '/repos/acme/deploy/issues/3/comments') return { status: 201, body: { id: 77, body: (r.body as { body: string }).body, user: { login: 'bot' } } };
      if (r.method === 'PATCH' && r.url === '/repos/acme/deploy/issues/comments/77') return { body: { id: 77, body: 'new', user: { login: 'bot' } } };
      return undefined;
    });
    expect(await forge.createComment(3, 'hello')).toEqual({ id: 77, body: 'hello', author: 'bot' });
    await forge.updateComment(3, 77, 'new');
    expect(api!.requests.map((r) => `${r.method} ${r.url} ${JSON.stringify(r.body)}`)).toEqual([
      'POST /repos/acme/deploy/issues/3/comments {"body":"hello"}',
      'PATCH /repos/acme/deploy/issues/comments/77 {"body":"new"}',
    ]);
  });

  it('creates a branch from the tip of another with git/refs, then opens and labels a pull request', async () => {
    const forge = await start((r) => {
      if (decodeURIComponent(r.url) === '/repos/acme/deploy/git/ref/heads/production') return { body: { ref: 'refs/heads/production', object: { sha: SHA, type: 'commit' } } };
      if (r.url === '/repos/acme/deploy/git/refs') return { status: 201, body: { ref: 'refs/heads/promote/x', object: { sha: SHA } } };
      if (r.url === '/repos/acme/deploy/pulls') return { status: 201, body: pull(9, { labels: [] }) };
      if (r.url === '/repos/acme/deploy/issues/9/labels') return { body: [{ name: 'promotion' }] };
      return undefined;
    });
    await forge.createBranch('promote/x', 'production');
    const mr = await forge.openMergeRequest({ sourceBranch: 'promote/x', targetBranch: 'production', title: 'Promote', labels: ['promotion'] });
    expect(mr.labels).toEqual(['promotion']);
    expect(api!.requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ['GET', '/repos/acme/deploy/git/ref/heads%2Fproduction', undefined],
      ['POST', '/repos/acme/deploy/git/refs', { ref: 'refs/heads/promote/x', sha: SHA }],
      ['POST', '/repos/acme/deploy/pulls', { head: 'promote/x', base: 'production', title: 'Promote', body: '' }],
      ['POST', '/repos/acme/deploy/issues/9/labels', { labels: ['promotion'] }],
    ]);
  });

  it('honours Retry-After on 429 and x-ratelimit-reset on a rate-limit 403, then succeeds', async () => {
    let calls = 0;
    const clock = new FakeClock(1_700_000_000_000);
    api = await fakeApi((): FakeAnswer => {
      calls++;
      if (calls === 1) return { status: 429, body: { message: 'slow down' }, headers: { 'retry-after': '7' } };
      if (calls === 2) return { status: 403, body: { message: 'API rate limit exceeded' }, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_700_000_000 + 20) } };
      return { body: pull(1) };
    });
    const forge = githubForge({ repository: 'acme/deploy', token: 't0ken-value', baseUrl: api.url, clock });
    const waits: number[] = [];
    const pending = forge.getMergeRequest(1);
    for (let i = 0; i < 2; i++) {
      await expect.poll(() => clock.pending).toBeGreaterThan(0);
      waits.push(clock.nextAt! - clock.now());
      await clock.advance(clock.nextAt! - clock.now());
    }
    expect((await pending).number).toBe(1);
    // x-ratelimit-reset is absolute: 20 s after the start, 13 s after the first wait.
    expect(waits).toEqual([7000, 13_000]);
    expect(calls).toBe(3);
  });

  it('maps 401, 404 and malformed answers to typed errors without the token', async () => {
    let answer: FakeAnswer = { status: 401, body: { message: 'Bad credentials' } };
    const forge = await start(() => answer);
    const e = (await forge.getMergeRequest(1).catch((x: unknown) => x)) as Error & { code: string };
    expect(e.code).toBe('FORGE_UNAUTHORIZED');
    expect(e.message).toMatch(/github: get pull request #1 \(acme\/deploy\): HTTP 401 \(Bad credentials\)/);
    expect(JSON.stringify([e.message, (e as unknown as { data: unknown }).data])).not.toContain('ghp_secret_token_value');
    answer = { status: 404, body: { message: 'Not Found' } };
    await expect(forge.listApprovals(4)).rejects.toMatchObject({ code: 'FORGE_NOT_FOUND' });
    answer = { status: 200, body: { number: 'one' } };
    await expect(forge.getMergeRequest(1)).rejects.toMatchObject({ code: 'FORGE_BAD_RESPONSE' });
  });

  it('needs a token: GITHUB_TOKEN or the option', () => {
    const saved = process.env['GITHUB_TOKEN'];
    delete process.env['GITHUB_TOKEN'];
    try {
      expect(() => githubForge({ repository: 'acme/deploy' })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringContaining('GITHUB_TOKEN') }));
      expect(() => githubForge({ repository: 'deploy', token: 't' })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    } finally {
      if (saved !== undefined) process.env['GITHUB_TOKEN'] = saved;
    }
  });
});
