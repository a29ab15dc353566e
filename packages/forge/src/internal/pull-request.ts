import type { MergeRequest } from '../forge.js';
import { Shape } from './shape.js';

/**
 * A pull request as Gitea and GitHub answer it (Gitea's API copies GitHub's shape); they differ
 * only in how they say it was merged. `merge_commit_sha` counts only once merged: for an open
 * pull request GitHub fills it with a test merge that no branch holds.
 */
export function readPullRequest(forge: 'gitea' | 'github', raw: unknown, operation: string): MergeRequest {
  const s = new Shape(forge, operation);
  const pr = s.object(raw, 'the pull request');
  const head = s.object(pr['head'], 'head');
  const merged = forge === 'gitea' ? pr['merged'] === true : typeof pr['merged_at'] === 'string';
  const mergeCommitSha = s.optionalString(pr['merge_commit_sha'], 'merge_commit_sha');
  return {
    number: s.number(pr['number'], 'number'),
    title: s.string(pr['title'], 'title'),
    state: merged ? 'merged' : s.string(pr['state'], 'state') === 'open' ? 'open' : 'closed',
    sourceBranch: s.string(head['ref'], 'head.ref'),
    targetBranch: s.string(s.object(pr['base'], 'base')['ref'], 'base.ref'),
    headSha: s.string(head['sha'], 'head.sha'),
    ...(merged && mergeCommitSha && { mergeCommitSha }),
    author: s.string(s.object(pr['user'], 'user')['login'], 'user.login'),
    labels: s.array(pr['labels'] ?? [], 'labels').map((l) => s.string(s.object(l, 'label')['name'], 'label.name')),
    url: s.string(pr['html_url'], 'html_url'),
  };
}

/** A comment as Gitea and GitHub answer it. */
export function readIssueComment(forge: 'gitea' | 'github', raw: unknown, operation: string): { id: number; body: string; author: string } {
  const s = new Shape(forge, operation);
  const c = s.object(raw, 'the comment');
  return { id: s.number(c['id'], 'id'), body: s.string(c['body'] ?? '', 'body'), author: s.string(s.object(c['user'], 'user')['login'], 'user.login') };
}
