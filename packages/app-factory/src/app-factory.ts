import { join } from 'node:path';
import { directorySource, pipe, substitute, yamlFiles, type Renderer, type Source } from '@converge/core';
import { AppSpecError, type AppParts, type SpecParser } from '@converge/fleet';
import { gitSource, type GitAuth, type GitRef, type GitSourceEvent } from '@converge/git-source';
import { helmChart } from '@converge/helm-render';
import { ociSource, type OciAuth } from '@converge/oci';
import { parseGitAppSpec, type GitAppSpec } from './git-app-spec.js';

/** Options of {@link appFactory}. */
export interface AppFactoryOptions {
  /** The repository used when a spec names only a `path` (one app repo, many apps). @default none: every spec names its `url` or `dir` */
  defaultRepo?: { url: string; ref?: GitRef };
  /** Credentials for every repository. @default none */
  auth?: GitAuth;
  /** Credentials for every OCI registry (`source.oci`), e.g. `{ dockerConfig: {} }`. @default anonymous */
  ociAuth?: OciAuth;
  /** Where git caches live. @default git-source's default */
  cacheDir?: string;
  /** Variables every app gets (e.g. CLUSTER), below the spec's own `vars`. @default {} */
  vars?: Record<string, string>;
  /** Git progress (clone, fetch). @default none */
  onGitProgress?: (app: string, event: GitSourceEvent) => void;
}

/** What {@link appFactory} returns: spread it into `createFleet`'s options. */
export interface AppFactory {
  /** Checks and types each spec's `source` and `render`: {@link parseGitAppSpec}. */
  parseSpec: SpecParser<GitAppSpec>;
  /** Builds an application's source and renderer from its checked spec. */
  createApp(spec: GitAppSpec): AppParts;
}

/**
 * The `parseSpec` and `createApp` of a fleet whose specs name a git repository (or a local
 * folder) and how to render it: a spec's `source` (`url`, `ref`, `path`) becomes a `gitSource`
 * (with `dir` instead of `url`, a `directorySource` of a local folder, e.g. a CI checkout; with
 * `oci: { url, ref }`, an `ociSource` of the artifact CI pushed), its
 * `render` (`type: yaml`, or `type: helm` with `chart`, `values`, `valuesFiles`, `version`) a
 * renderer. Plain YAML then gets `${VAR}` substitution of `vars` (with `ENVIRONMENT` set to the
 * app's name), as Flux does after a build; Helm output does not (templates already had values).
 *
 * @example
 * ```ts
 * const fleet = createFleet({
 *   name: 'apps', source: gitSource({ url: 'https://git.example.com/fleet.git' }), path: 'apps', sink,
 *   ...appFactory({ defaultRepo: { url: 'https://git.example.com/shop.git' }, vars: { CLUSTER: 'eu-1' } }),
 * });
 * ```
 */
export function appFactory(options: AppFactoryOptions = {}): AppFactory {
  return {
    parseSpec: parseGitAppSpec,
    createApp(spec) {
      const vars = { ENVIRONMENT: spec.name, ...options.vars, ...spec.vars };
      return { source: sourceFor(spec, options), render: rendererFor(spec, vars) };
    },
  };
}

function sourceFor(spec: GitAppSpec, options: AppFactoryOptions): Source {
  const src = spec.source;
  if (src.dir) return directorySource(join(src.dir, src.path ?? ''));
  if (src.oci) {
    return ociSource({
      url: src.oci.url,
      ...(src.oci.ref && { ref: src.oci.ref }),
      ...(src.oci.insecure && { insecure: true }),
      ...(src.path && { path: src.path }),
      ...(options.ociAuth && { auth: options.ociAuth }),
    });
  }
  const url = src.url ?? options.defaultRepo?.url;
  if (!url) throw new AppSpecError(`app ${spec.name}: source.url (or source.dir) is required; no default repository is configured`, { file: spec.name });
  const ref = src.ref ?? (src.url ? undefined : options.defaultRepo?.ref);
  const { onGitProgress } = options;
  return gitSource({
    url,
    ...(ref && { ref }),
    ...(src.path && { path: src.path }),
    ...(options.auth && { auth: options.auth }),
    ...(options.cacheDir && { cacheDir: options.cacheDir }),
    ...(onGitProgress && { onProgress: (e: GitSourceEvent) => onGitProgress(spec.name, e) }),
  });
}

function rendererFor(spec: GitAppSpec, vars: Record<string, string>): Renderer {
  const render = spec.render;
  switch (render.type) {
    case 'yaml':
      return pipe(yamlFiles(), substitute(vars));
    case 'helm':
      return helmChart({
        chart: render.chart,
        releaseName: spec.name,
        ...(spec.namespace && { namespace: spec.namespace }),
        ...(render.version && { version: render.version }),
        ...(render.values && { values: render.values }),
        ...(render.valuesFiles && { valuesFiles: render.valuesFiles }),
      });
  }
}
