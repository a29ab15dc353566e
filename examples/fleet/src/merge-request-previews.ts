import { appFactory, type GitAppSpec } from '@converge/app-factory';
import type { Sink } from '@converge/core';
import { createFleet, type Fleet } from '@converge/fleet';
import { mergeRequestSpecs, type Forge } from '@converge/forge';
import type { GitAuth } from '@converge/git-source';

/** Options of {@link mergeRequestPreviews}. */
export interface MergeRequestPreviewsOptions {
  /** The application's repository on its forge: its open merge requests are the previews. */
  forge: Forge;
  /** Its clone URL. */
  url: string;
  /** Git credentials to read it. */
  auth?: GitAuth;
  /** Where previews are applied. */
  sink: Sink;
  /** Only merge requests carrying this label get a preview. @default 'preview' */
  label?: string;
  /** Only merge requests into this branch. @default 'main' */
  targetBranch?: string;
  /** The folder of the application's manifests, read at each merge request's head. @default 'deploy/preview' */
  path?: string;
  /** Variables every preview gets, e.g. `{ REGISTRY: 'ghcr.io/acme' }`. @default {} */
  vars?: Record<string, string>;
  /** How often the open merge requests are listed, and each preview's own interval, in ms. @default 30000 */
  intervalMs?: number;
  /** @default 'mr-previews' */
  name?: string;
}

/**
 * A preview environment per open merge request, read from the forge — no CI job writes spec
 * files: each open merge request into `targetBranch` with the `label` becomes application
 * `mr-<number>` in namespace `preview-<number>`, deployed from the manifests at the merge
 * request's head commit (`TAG` is its short commit, for images CI tagged that way). A push
 * moves the preview to the new head; closing or merging the merge request, or removing the
 * label, tears the preview down; a listing that fails (forge down, bad token) tears nothing down.
 */
export function mergeRequestPreviews(options: MergeRequestPreviewsOptions): Fleet<GitAppSpec> {
  const intervalMs = options.intervalMs ?? 30_000;
  const { parseSpec, createApp } = appFactory({
    defaultRepo: { url: options.url },
    ...(options.vars && { vars: options.vars }),
    ...(options.auth && { auth: options.auth }),
  });
  return createFleet({
    name: options.name ?? 'mr-previews',
    source: mergeRequestSpecs({
      forge: options.forge,
      labels: [options.label ?? 'preview'],
      targetBranch: options.targetBranch ?? 'main',
      template: {
        namespace: 'preview-${NUMBER}',
        source: { ref: { commit: '${HEAD_SHA}' }, path: options.path ?? 'deploy/preview' },
        render: { type: 'yaml' },
        prune: true,
        vars: { TAG: '${SHORT_SHA}' },
      },
    }),
    sink: options.sink,
    intervalMs,
    appDefaults: { intervalMs, prune: true },
    parseSpec,
    createApp,
  });
}
