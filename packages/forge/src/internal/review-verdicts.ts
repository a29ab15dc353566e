import type { Approval } from '../forge.js';

/** One review as Gitea and GitHub list them (oldest first). */
export interface Review {
  user: string;
  state: string;
  commitSha?: string;
}

/** Approvals in force: the latest verdict per reviewer counts, so a later "changes requested" or a dismissal withdraws an approval. */
export function approvalsInForce(reviews: readonly Review[], verdicts: { approved: string; withdrawn: readonly string[] }): Approval[] {
  const latest = new Map<string, Review>();
  for (const r of reviews) if (r.state === verdicts.approved || verdicts.withdrawn.includes(r.state)) latest.set(r.user, r);
  return [...latest.values()].filter((r) => r.state === verdicts.approved).map((r) => ({ user: r.user, ...(r.commitSha && { commitSha: r.commitSha }) }));
}
