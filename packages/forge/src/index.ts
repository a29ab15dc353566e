export type {
  Forge,
  CommitState,
  CommitStatus,
  CommitStatusInput,
  MergeRequest,
  MergeRequestComment,
  Approval,
  OpenMergeRequestInput,
  ListMergeRequestsOptions,
} from './forge.js';
export { ForgeError } from './forge-error.js';
export type { ForgeErrorCode } from './forge-error.js';
export { giteaForge } from './gitea-forge.js';
export type { GiteaForgeOptions } from './gitea-forge.js';
export { githubForge } from './github-forge.js';
export type { GithubForgeOptions } from './github-forge.js';
export { gitlabForge } from './gitlab-forge.js';
export type { GitlabForgeOptions } from './gitlab-forge.js';
export { forgeOf } from './forge-of.js';
export type { ForgeSettings } from './forge-of.js';
export { commitOf } from './commit-of.js';
export { reportCommitStatus } from './commit-status-reporter.js';
export type { ReportCommitStatusOptions, CommitStatusSubscription, CommitStatusWrite, EventSource } from './commit-status-reporter.js';
export { commentPlan, planCommentMarker } from './comment-plan.js';
export type { CommentPlanOptions, CommentPlanResult } from './comment-plan.js';
export { approvalGate } from './approval-gate.js';
export type { ApprovalGateOptions, ApprovalRequirements } from './approval-gate.js';
export { mergeRequestSpecs, slug } from './merge-request-specs.js';
export type { MergeRequestSpecsOptions } from './merge-request-specs.js';
export { mergeRequestWriter } from './merge-request-writer.js';
export type { MergeRequestWriter, MergeRequestWriterOptions, BranchWriter, ProposeInput, ProposeResult } from './merge-request-writer.js';
export { parseWebhook, webhookHandler } from './webhook.js';
export type { ForgeWebhookEvent, WebhookForge, ParseWebhookOptions, WebhookHandlerOptions } from './webhook.js';
