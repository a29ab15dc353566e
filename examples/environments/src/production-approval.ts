import type { Reconciler, Sink } from '@converge/core';
import { approvalGate, mergeRequestWriter, type Forge, type ProposeResult } from '@converge/forge';
import { gitSource, gitWriter, type GitAuth, type GitWriteRequest } from '@converge/git-source';
import { environmentReconciler } from './environment-reconciler.ts';

/** Where the environment repository is, on its forge. */
export interface ApprovalRepository {
  /** The repository on its forge (Gitea here; GitHub and GitLab fit the same `Forge`). */
  forge: Forge;
  /** Its clone URL. */
  url: string;
  /** Credentials to read and push. */
  auth?: GitAuth;
  /** The branch production follows; changes reach it only through merge requests. @default 'production' */
  branch?: string;
}

/**
 * Production through merge requests: a reconciler on the `production` branch whose approval
 * gate lets a revision through only when a merge request merged it into that branch. A direct
 * push, or anything still waiting in an open merge request, is not applied: the pass is blocked
 * (`gate.blocked` says why) and production keeps what it runs. Protect the branch in the forge
 * (required approvals) so that a merge is the approval.
 */
export function approvedProduction(repo: ApprovalRepository, options: { sink: Sink; namespace?: string; name?: string; vars?: Record<string, string>; intervalMs?: number }): Reconciler {
  const branch = repo.branch ?? 'production';
  return environmentReconciler({
    environment: 'production',
    ...options,
    source: gitSource({ url: repo.url, ref: { branch }, ...(repo.auth && { auth: repo.auth }) }),
    gates: [approvalGate({ forge: repo.forge, mergedInto: [branch] })],
  });
}

/**
 * Proposes a release to production: pushes `app.yaml` of that version to `promote/shop-<version>`
 * and opens a merge request into the production branch (or adds to the one already open), with
 * the `promotion` label when the repository has it. Nothing is deployed until a person approves
 * and merges it.
 */
export function proposeRelease(repo: ApprovalRepository, release: { version: string; manifest: string; labels?: string[] }): Promise<ProposeResult> {
  const promote = mergeRequestWriter<GitWriteRequest>({
    forge: repo.forge,
    targetBranch: repo.branch ?? 'production',
    writer: (branch) => gitWriter({ url: repo.url, branch, ...(repo.auth && { auth: repo.auth }), author: { name: 'Release Bot', email: 'release@example.com' } }),
  });
  return promote.propose({
    branch: `promote/shop-${release.version}`,
    title: `Promote shop ${release.version} to production`,
    body: `Staging runs shop ${release.version}. Approve and merge to deploy it to production.`,
    labels: release.labels ?? [],
    change: { change: (files) => files.write('app.yaml', release.manifest), message: `production: shop ${release.version}` },
  });
}
