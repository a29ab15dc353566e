import { appFactory, type GitAppSpec } from '@converge/app-factory';
import type { Sink } from '@converge/core';
import { createFleet, type Fleet } from '@converge/fleet';
import { imagesExist, type RegistryCredentials } from '@converge/oci';
import { gitSource, type GitAuth } from '@converge/git-source';

/** Options of {@link previewFleet}. */
export interface PreviewFleetOptions {
  /** The repository holding `apps/` (one spec per preview) and the application's manifests. */
  url: string;
  /** @default 'main' */
  branch?: string;
  /** Folder of spec files. @default 'apps' */
  path?: string;
  /** Where previews are applied. */
  sink: Sink;
  /** Variables every preview gets, e.g. `{ REGISTRY: 'ghcr.io/acme' }`. @default {} */
  vars?: Record<string, string>;
  /** Check that every image exists in its registry before applying. @default { } (on, anonymous, HTTPS) */
  imageGate?: false | { insecureRegistries?: string[]; auth?: Record<string, RegistryCredentials> };
  /** Git credentials. */
  auth?: GitAuth;
  /** How often `apps/` is polled, and each preview's own interval, in ms. @default 10000 */
  intervalMs?: number;
  /** @default 'previews' */
  name?: string;
}

/**
 * Dynamic per-merge-request environments: CI writes `apps/<branch>.yaml` (a few lines: the image
 * tag it built), the fleet merges it over `apps/_template.yaml`, creates namespace
 * `preview-<branch>` and deploys there — once the image exists in the registry; CI deletes the
 * file when the merge request closes, and the fleet tears that preview down.
 */
export function previewFleet(options: PreviewFleetOptions): Fleet<GitAppSpec> {
  const branch = options.branch ?? 'main';
  const intervalMs = options.intervalMs ?? 10_000;
  const { parseSpec, createApp } = appFactory({
    defaultRepo: { url: options.url, ref: { branch } },
    ...(options.vars && { vars: options.vars }),
    ...(options.auth && { auth: options.auth }),
  });
  const gate = options.imageGate === false ? undefined : imagesExist({ ...options.imageGate });
  return createFleet({
    name: options.name ?? 'previews',
    source: gitSource({ url: options.url, ref: { branch }, ...(options.auth && { auth: options.auth }) }),
    path: options.path ?? 'apps',
    sink: options.sink,
    intervalMs,
    appDefaults: { intervalMs, prune: true },
    parseSpec,
    createApp: (spec) => ({ ...createApp(spec), ...(gate && { gates: [gate] }) }),
  });
}
