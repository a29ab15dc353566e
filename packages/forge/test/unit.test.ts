import { createHmac } from 'node:crypto';
import { createReconciler, memoryFileTree, type KubeObject, type ReconcileEvent } from '@converge/core';
import { FakeClock, MemorySink, memorySource } from '@converge/core/testing';
import { describe, expect, it } from 'vitest';
import { approvalGate, commentPlan, commitOf, forgeOf, mergeRequestSpecs, parseWebhook, reportCommitStatus, slug, type CommitStatusInput, type Forge, type MergeRequestComment } from '../src/index.js';
import { giteaCachePath, locateGitea } from '../src/testing/index.js';

/** Records what reaches the forge; only the methods these tests use do anything. */
function recordingForge(maxCommentLength = 65_535) {
  const statuses: (CommitStatusInput & { sha: string })[] = [];
  const comments: MergeRequestComment[] = [];
  const forge = {
    kind: 'gitea',
    repository: 'acme/deploy',
    maxCommentLength,
    async setCommitStatus(sha: string, s: CommitStatusInput) {
      statuses.push({ sha, ...s });
    },
    async listComments() {
      return comments.map((c) => ({ ...c }));
    },
    async createComment(_n: number, body: string) {
      const c = { id: comments.length + 1, body, author: 'bot' };
      comments.push(c);
      return c;
    },
    async updateComment(_n: number, id: number, body: string) {
      comments.find((c) => c.id === id)!.body = body;
    },
  } as unknown as Forge;
  return { forge, statuses, comments };
}

const SHA1 = '1'.repeat(40);
const SHA2 = '2'.repeat(40);
const ev = (e: Record<string, unknown>) => ({ reconciler: 'prod', at: 0, ...e }) as ReconcileEvent;

describe('reportCommitStatus', () => {
  it('writes pending, then success; a repeated state is not written again', async () => {
    const { forge, statuses } = recordingForge();
    let emit: (e: ReconcileEvent) => void = () => {};
    const stop = reportCommitStatus({ on: (_t, fn) => ((emit = fn), () => {}) }, { forge, minIntervalMs: 0 });
    const counts = { created: 1, updated: 0, deleted: 0, unchanged: 2 };
    emit(ev({ type: 'revision.checked', revision: `main@sha1:${SHA1}`, changed: true }));
    await stop.flush();
    emit(ev({ type: 'pass.succeeded', revision: `main@sha1:${SHA1}`, counts, durationMs: 1, driftCorrected: 0 }));
    emit(ev({ type: 'revision.checked', revision: `main@sha1:${SHA1}`, changed: false }));
    emit(ev({ type: 'pass.succeeded', revision: `main@sha1:${SHA1}`, counts, durationMs: 1, driftCorrected: 0 }));
    await stop.flush();
    expect(statuses.map((s) => `${s.state} ${s.context} ${s.description}`)).toEqual([
      `pending converge/prod deploying main@sha1:${SHA1.slice(0, 8)}`,
      'success converge/prod in sync: 1 created, 0 updated, 0 pruned, 2 unchanged',
    ]);
  });

  it('spaces writes per commit and context and keeps only the newest state meanwhile', async () => {
    const { forge, statuses } = recordingForge();
    const clock = new FakeClock(1000);
    let emit: (e: ReconcileEvent) => void = () => {};
    reportCommitStatus({ on: (_t, fn) => ((emit = fn), () => {}) }, { forge, clock, minIntervalMs: 10_000 });
    const fail = (message: string) => ev({ type: 'pass.failed', revision: `main@sha1:${SHA2}`, error: { code: 'APPLY_FAILED', message }, durationMs: 1 });
    emit(fail('first'));
    await expect.poll(() => statuses.length).toBe(1);
    emit(fail('second'));
    emit(fail('third'));
    await clock.advance(5_000);
    expect(statuses).toHaveLength(1);
    await clock.advance(5_000);
    await expect.poll(() => statuses.length).toBe(2);
    expect(statuses[1]).toMatchObject({ state: 'failure', description: 'APPLY_FAILED: third' });
  });

  it('stops at maxWritesPerCommit and skips revisions without a commit; one-line descriptions of at most 140 characters', async () => {
    const { forge, statuses } = recordingForge();
    let emit: (e: ReconcileEvent) => void = () => {};
    const stop = reportCommitStatus({ on: (_t, fn) => ((emit = fn), () => {}) }, { forge, minIntervalMs: 0, maxWritesPerCommit: 2 });
    for (let i = 0; i < 5; i++) {
      emit(ev({ type: 'pass.failed', revision: `main@sha1:${SHA1}`, error: { code: 'X', message: `line ${i}\nsecond line ${'y'.repeat(200)}` }, durationMs: 1 }));
      await stop.flush();
    }
    emit(ev({ type: 'pass.failed', revision: 'sha256:abc', error: { code: 'X', message: 'no commit' }, durationMs: 1 }));
    await stop.flush();
    expect(statuses).toHaveLength(2);
    expect(statuses[0]!.description).toHaveLength(140);
    expect(statuses[0]!.description).not.toContain('\n');
  });

  it('with a real reconciler, a failing forge never fails the pass and reaches onError', async () => {
    const forge = { ...recordingForge().forge, setCommitStatus: async () => { throw new Error('forge down'); } } as Forge;
    const source = memorySource({ 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n' });
    const reconciler = createReconciler({ name: 'prod', source: { ...source, latestRevision: async () => `main@sha1:${SHA1}`, fetch: async () => ({ source: 'm', revision: `main@sha1:${SHA1}`, files: memoryFileTree({ 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: default }\n' }) }) }, render: async ({ artifact }) => [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } } as KubeObject].filter(() => artifact !== undefined), sink: new MemorySink() });
    const errors: string[] = [];
    const stop = reportCommitStatus(reconciler, { forge, minIntervalMs: 0, onError: (e) => errors.push(e.message) });
    expect((await reconciler.reconcile()).status).toBe('succeeded');
    await stop.flush();
    expect(errors).toEqual(['forge down', 'forge down']);
  });
});

describe('commentPlan', () => {
  const plan = (n: number) => ({
    changes: Array.from({ length: n }, (_, i) => ({
      action: 'create' as const,
      ref: { group: '', kind: 'ConfigMap', namespace: 'default', name: `cm-${i}` },
      desired: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'default' }, data: { v: 'x'.repeat(50) } },
    })),
  });

  it('keeps a large plan under the forge limit with a note of what was cut, and masks Secret values', async () => {
    const { forge, comments } = recordingForge(4000);
    const secret = { action: 'create' as const, ref: { group: '', kind: 'Secret', namespace: 'default', name: 's' }, desired: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, stringData: { password: 'hunter2-very-secret' } } };
    await commentPlan({ forge, mergeRequest: 1, plan: { changes: [secret, ...plan(200).changes] }, key: 'prod', revision: 'main@sha1:abc' });
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.length).toBeLessThanOrEqual(4000);
    expect(comments[0]!.body).toMatch(/^<!-- converge:plan:prod -->\n### Converge plan: prod: 201 to create/);
    expect(comments[0]!.body).toMatch(/more lines not shown/);
    expect(comments[0]!.body).not.toContain('hunter2');
  });

  it('finds its own comment by key; another key gets its own comment', async () => {
    const { forge, comments } = recordingForge();
    expect((await commentPlan({ forge, mergeRequest: 1, plan: plan(1), key: 'staging' })).action).toBe('created');
    expect((await commentPlan({ forge, mergeRequest: 1, plan: plan(2), key: 'prod' })).action).toBe('created');
    expect((await commentPlan({ forge, mergeRequest: 1, plan: plan(3), key: 'staging' })).action).toBe('updated');
    expect(comments.map((c) => c.body.split('\n')[1])).toEqual(['### Converge plan: staging: 3 to create, 0 to update, 0 to prune, 0 unchanged', '### Converge plan: prod: 2 to create, 0 to update, 0 to prune, 0 unchanged']);
  });
});

describe('parseWebhook', () => {
  const body = JSON.stringify({ action: 'opened', number: 7, pull_request: { number: 7 } });
  const sig = createHmac('sha256', 's3cret').update(body).digest('hex');

  it('verifies Gitea, GitHub and GitLab signatures', () => {
    expect(parseWebhook({ forge: 'gitea', secret: 's3cret', headers: { 'x-gitea-signature': sig, 'x-gitea-event': 'pull_request' }, body })).toEqual({ kind: 'merge_request', forge: 'gitea', number: 7, action: 'opened' });
    expect(parseWebhook({ forge: 'github', secret: 's3cret', headers: { 'x-hub-signature-256': `sha256=${sig}`, 'x-github-event': 'pull_request' }, body })).toMatchObject({ kind: 'merge_request', number: 7 });
    const gl = JSON.stringify({ object_kind: 'merge_request', object_attributes: { iid: 3, action: 'update' } });
    expect(parseWebhook({ forge: 'gitlab', secret: 's3cret', headers: { 'x-gitlab-token': 's3cret', 'x-gitlab-event': 'Merge Request Hook' }, body: gl })).toEqual({ kind: 'merge_request', forge: 'gitlab', number: 3, action: 'update' });
  });

  it('rejects a bad or missing signature, a tampered body and a malformed payload with typed errors', () => {
    expect(() => parseWebhook({ forge: 'gitea', secret: 's3cret', headers: { 'x-gitea-signature': 'deadbeef' }, body })).toThrow(expect.objectContaining({ code: 'WEBHOOK_SIGNATURE_INVALID' }));
    expect(() => parseWebhook({ forge: 'github', secret: 's3cret', headers: {}, body })).toThrow(expect.objectContaining({ code: 'WEBHOOK_SIGNATURE_INVALID' }));
    expect(() => parseWebhook({ forge: 'gitea', secret: 's3cret', headers: { 'x-gitea-signature': sig }, body: `${body} ` })).toThrow(expect.objectContaining({ code: 'WEBHOOK_SIGNATURE_INVALID' }));
    expect(() => parseWebhook({ forge: 'gitlab', secret: 's3cret', headers: { 'x-gitlab-token': 'other' }, body })).toThrow(expect.objectContaining({ code: 'WEBHOOK_SIGNATURE_INVALID' }));
    const junk = 'not json';
    expect(() => parseWebhook({ forge: 'gitea', secret: 's3cret', headers: { 'x-gitea-signature': createHmac('sha256', 's3cret').update(junk).digest('hex') }, body: junk })).toThrow(expect.objectContaining({ code: 'WEBHOOK_PAYLOAD_INVALID' }));
    const noNumber = JSON.stringify({ action: 'opened' });
    expect(() => parseWebhook({ forge: 'gitea', secret: 's3cret', headers: { 'x-gitea-signature': createHmac('sha256', 's3cret').update(noNumber).digest('hex'), 'x-gitea-event': 'pull_request' }, body: noNumber })).toThrow(expect.objectContaining({ code: 'WEBHOOK_PAYLOAD_INVALID' }));
    expect(() => parseWebhook({ forge: 'gitea', secret: '', headers: {}, body })).toThrow(expect.objectContaining({ code: 'WEBHOOK_SIGNATURE_INVALID' }));
  });
});

describe('helpers', () => {
  it('commitOf reads Converge git revisions; slug makes DNS labels', () => {
    expect(commitOf(`main@sha1:${SHA1}`)).toBe(SHA1);
    expect(commitOf(SHA2)).toBe(SHA2);
    expect(commitOf('sha256:abcd')).toBeUndefined();
    expect(slug('feature/Login_v2')).toBe('feature-login-v2');
    expect(slug('--x--')).toBe('x');
    expect(slug('a'.repeat(60))).toHaveLength(40);
  });
});

describe('forgeOf', () => {
  it('makes the provider the settings name; Gitea without a url or an empty token is FORGE_INVALID_OPTIONS', () => {
    expect(forgeOf({ kind: 'gitea', url: 'http://gitea.test', repository: 'acme/deploy', token: 't' })).toMatchObject({ kind: 'gitea', repository: 'acme/deploy', maxCommentLength: 65_535 });
    expect(forgeOf({ kind: 'github', repository: 'acme/deploy', token: 't' })).toMatchObject({ kind: 'github', repository: 'acme/deploy' });
    expect(forgeOf({ kind: 'gitlab', url: 'https://gitlab.test', repository: 'acme/platform/deploy', token: 't' })).toMatchObject({ kind: 'gitlab', repository: 'acme/platform/deploy' });
    expect(() => forgeOf({ kind: 'gitea', repository: 'acme/deploy', token: 't' })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    expect(() => forgeOf({ kind: 'github', repository: 'acme/deploy', token: '' })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
  });
});

describe('locateGitea', () => {
  it('says which command builds Gitea when the cache has none, and checks CONVERGE_GITEA_BIN', () => {
    const env = { HOME: '/nonexistent', CONVERGE_CACHE_DIR: '/nonexistent/converge-cache' };
    expect(() => locateGitea(env)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/build-gitea\.sh/) }));
    expect(giteaCachePath(env).binary).toMatch(/^\/nonexistent\/converge-cache\/gitea\/[0-9a-f]{16}\/gitea$/);
    expect(() => locateGitea({ ...env, CONVERGE_GITEA_BIN: '/bin/sh', CONVERGE_GITEA_STATIC: '/nonexistent' })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/CONVERGE_GITEA_STATIC/) }));
  });

  it('computes the same cache key as scripts/build-gitea.sh', async () => {
    const { execFileSync } = await import('node:child_process');
    const printed = execFileSync('bash', [new URL('../scripts/build-gitea.sh', import.meta.url).pathname, '--print-path'], { encoding: 'utf8', env: { ...process.env, CONVERGE_CACHE_DIR: '/tmp/converge-key-check' } }).trim();
    expect(giteaCachePath({ CONVERGE_CACHE_DIR: '/tmp/converge-key-check' }).binary).toBe(printed);
  });
});

describe('approvalGate', () => {
  const head = '3'.repeat(40);
  const mr = { number: 7, title: 't', state: 'open' as const, sourceBranch: 'promote/x', targetBranch: 'production', headSha: head, author: 'a', labels: ['promotion'], url: '' };
  const fakeForge = (o: { approvals: { user: string; commitSha?: string }[]; statuses: { context: string; state: string }[]; labels?: string[] }) =>
    ({
      kind: 'gitea',
      mergeRequestsForCommit: async () => [{ ...mr, labels: o.labels ?? mr.labels }],
      listApprovals: async () => o.approvals,
      listCommitStatuses: async () => o.statuses.map((s) => ({ ...s, description: '' })),
    }) as unknown as Forge;

  it('needs approvals on the head commit itself, every label and a passing status for every context', async () => {
    const ctx = { revision: `promote/x@sha1:${head}` };
    const stale = approvalGate({ forge: fakeForge({ approvals: [{ user: 'bob', commitSha: '9'.repeat(40) }], statuses: [] }), approvals: 1 });
    expect(await stale.check([], ctx)).toMatchObject({ ok: false, message: expect.stringContaining('#7 needs 1 more approval on 33333333') });
    const ciRed = approvalGate({ forge: fakeForge({ approvals: [{ user: 'bob', commitSha: head }], statuses: [{ context: 'ci/build', state: 'failure' }] }), statuses: ['ci/build'], labels: ['promotion', 'prod'] });
    expect(await ciRed.check([], ctx)).toMatchObject({ ok: false, message: expect.stringMatching(/label "prod" and a passing ci\/build status/) });
    const ok = approvalGate({ forge: fakeForge({ approvals: [{ user: 'bob', commitSha: head }, { user: 'ann' }], statuses: [{ context: 'ci/build', state: 'success' }] }), approvals: 2, statuses: ['ci/build'], labels: ['promotion'] });
    expect(await ok.check([], ctx)).toEqual({ ok: true });
    expect(await ok.check([], { revision: 'sha256:abc' })).toMatchObject({ ok: false, message: expect.stringContaining('names no commit') });
  });
});

describe('mergeRequestSpecs', () => {
  it('fetching a revision the listing no longer has is a retryable error, not another set of specs', async () => {
    let title = 'one';
    const forge = { kind: 'gitea', repository: 'a/b', listMergeRequests: async () => [{ number: 1, title, state: 'open', sourceBranch: 'x', targetBranch: 'main', headSha: title === 'one' ? '1'.repeat(40) : '2'.repeat(40), author: 'a', labels: [], url: '' }] } as unknown as Forge;
    const first = mergeRequestSpecs({ forge, template: {} });
    const revision = await first.latestRevision();
    const other = mergeRequestSpecs({ forge, template: {} });
    title = 'two';
    await expect(other.fetch(revision)).rejects.toMatchObject({ code: 'FORGE_BAD_RESPONSE', retryable: true });
    // The source that listed it still returns exactly what it saw.
    const artifact = await first.fetch(revision);
    expect(new TextDecoder().decode(await artifact.files.read('mr-1.yaml'))).toContain('1'.repeat(40));
  });
});
