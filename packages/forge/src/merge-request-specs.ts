import { createHash } from 'node:crypto';
import { memoryFileTree, type Artifact, type Source } from '@converge/core';
import { APP_TEMPLATE_FILE } from '@converge/fleet';
import { stringify } from 'yaml';
import type { Forge, MergeRequest } from './forge.js';
import { ForgeError } from './forge-error.js';

/** Options of {@link mergeRequestSpecs}. */
export interface MergeRequestSpecsOptions {
  /** The repository on its forge. */
  forge: Forge;
  /**
   * The app spec every merge request gets (the fleet's `_template.yaml`), with `${VAR}`
   * placeholders filled per merge request: `NAME` (the app name), `NUMBER`, `BRANCH`, `SLUG`
   * (the branch as a DNS label), `HEAD_SHA`, `SHORT_SHA` (8 characters), `AUTHOR`, `TARGET_BRANCH`.
   */
  template: Record<string, unknown>;
  /** Only merge requests carrying every one of these labels. @default [] (all) */
  labels?: string[];
  /** Only merge requests into this branch. @default any */
  targetBranch?: string;
  /** The app name of a merge request (a DNS label of at most 40 characters). @default (mr) => `mr-${mr.number}` */
  name?: (mr: MergeRequest) => string;
  /** Any other filter. @default () => true */
  filter?: (mr: MergeRequest) => boolean;
  /** The source's id, in events. @default `${forge.kind}:${forge.repository}/merge-requests` */
  id?: string;
}

/**
 * A source of fleet app specs, one per open merge request: give it to `createFleet` as its
 * `source` and each merge request that passes the filters (label, target branch) becomes an
 * application from `template`, with the merge request's number, branch, slug, head commit and
 * author as variables — Argo CD's pull request generator, without CI writing files. A merge
 * request that is closed, merged or loses its label leaves the listing, so the fleet tears its
 * environment down with every fleet safety rule; a listing that fails (outage, 401, rate
 * limit) fails the fleet pass, which removes nothing. The revision is a digest of the specs,
 * so a push to a merge request (a new head) is a new revision and updates that application.
 *
 * @example
 * ```ts
 * const fleet = createFleet({
 *   name: 'previews', sink,
 *   source: mergeRequestSpecs({ forge, labels: ['preview'], template: {
 *     namespace: 'preview-${NUMBER}',
 *     source: { url: 'https://gitea.example.com/acme/app.git', ref: { commit: '${HEAD_SHA}' } },
 *   } }),
 *   createApp: (spec) => ({ source: gitSource(spec.source as never), render: yamlFiles() }),
 * });
 * ```
 */
export function mergeRequestSpecs(options: MergeRequestSpecsOptions): Source {
  const id = options.id ?? `${options.forge.kind}:${options.forge.repository}/merge-requests`;
  const labels = options.labels ?? [];
  const nameOf = options.name ?? ((mr: MergeRequest) => `mr-${mr.number}`);
  const filter = options.filter ?? (() => true);
  const templateText = stringify(options.template);
  /** The artifacts of the last listings: fetch(revision) must return what latestRevision saw. */
  const recent = new Map<string, Record<string, string>>();

  async function list(signal?: AbortSignal): Promise<{ revision: string; files: Record<string, string> }> {
    const mrs = await options.forge.listMergeRequests({ state: 'open', ...(options.targetBranch !== undefined && { targetBranch: options.targetBranch }), ...(signal && { signal }) });
    const files: Record<string, string> = { [APP_TEMPLATE_FILE]: templateText };
    for (const mr of mrs) {
      if (mr.state !== 'open' || !labels.every((l) => mr.labels.includes(l)) || !filter(mr)) continue;
      const name = nameOf(mr);
      const vars = {
        NUMBER: String(mr.number),
        BRANCH: mr.sourceBranch,
        SLUG: slug(mr.sourceBranch),
        HEAD_SHA: mr.headSha,
        SHORT_SHA: mr.headSha.slice(0, 8),
        AUTHOR: mr.author,
        TARGET_BRANCH: mr.targetBranch,
      };
      files[`${name}.yaml`] = stringify({ name, vars });
    }
    const digest = createHash('sha256');
    for (const path of Object.keys(files).sort()) digest.update(`${path}\0${files[path]}\0`);
    const revision = `sha256:${digest.digest('hex')}`;
    recent.set(revision, files);
    while (recent.size > 4) recent.delete(recent.keys().next().value!);
    return { revision, files };
  }

  return {
    id,
    async latestRevision(o = {}) {
      return (await list(o.signal)).revision;
    },
    async fetch(revision, o = {}): Promise<Artifact> {
      let files = revision === undefined ? undefined : recent.get(revision);
      if (!files) {
        const now = await list(o.signal);
        if (revision !== undefined && now.revision !== revision) {
          throw new ForgeError('FORGE_BAD_RESPONSE', `${id}: revision ${revision} is gone (the open merge requests changed); the next pass picks up ${now.revision}`, { data: { forge: options.forge.kind, retryable: true } });
        }
        files = now.files;
        revision = now.revision;
      }
      return { source: id, revision: revision!, files: memoryFileTree(files) };
    },
  };
}

/** A branch name as a DNS label: lower case, `a-z0-9-`, at most 40 characters (`feature/Login_v2` → `feature-login-v2`). */
export function slug(branch: string): string {
  const s = branch.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  return s || 'branch';
}
