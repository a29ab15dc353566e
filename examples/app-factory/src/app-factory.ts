import { join } from 'node:path';
import { AppSpecError, directorySource, pipe, substitute, yamlFiles, type AppParts, type AppSpec, type Renderer, type Source } from '@converge/core';
import { gitSource, type GitAuth, type GitSourceEvent } from '@converge/git-source';
import { helmChart } from '@converge/helm-render';

/** Options of {@link appFactory}. */
export interface AppFactoryOptions {
  /** The repository used when a spec names only a `path` (one app repo, many apps). */
  defaultRepo?: { url: string; ref?: Record<string, string> };
  /** Credentials for every repository. */
  auth?: GitAuth;
  /** Where git caches live. @default git-source's default */
  cacheDir?: string;
  /** Variables every app gets (e.g. CLUSTER), below the spec's own `vars`. */
  vars?: Record<string, string>;
  /** Git progress (clone, fetch). */
  onGitProgress?: (app: string, event: GitSourceEvent) => void;
}

/**
 * The fleet's `createApp`: a spec's `source` (`url`, `ref`, `path`) becomes a `gitSource` (or,
 * with `dir` instead of `url`, a `directorySource` of a local folder, e.g. a CI checkout), its
 * `render` (`type: yaml` or `type: helm` with `chart`, `values`, `valuesFiles`) a renderer.
 * Plain YAML then gets `${VAR}` substitution of `vars` (with `ENVIRONMENT` set to the app's
 * name), as Flux does after a build; Helm output does not (templates already had values).
 */
export function appFactory(options: AppFactoryOptions = {}): (spec: AppSpec) => AppParts {
  return (spec) => {
    const vars = { ENVIRONMENT: spec.name, ...options.vars, ...spec.vars };
    return { source: sourceFor(spec, options), render: rendererFor(spec, vars) };
  };
}

function sourceFor(spec: AppSpec, options: AppFactoryOptions): Source {
  const src = (spec.source ?? {}) as { url?: string; dir?: string; ref?: Record<string, string>; path?: string };
  if (src.dir) return directorySource(join(src.dir, src.path ?? ''));
  const url = src.url ?? options.defaultRepo?.url;
  if (!url) throw new AppSpecError(`app ${spec.name}: source.url (or source.dir) is required; no default repository is configured`, { file: spec.name });
  const ref = src.ref ?? (src.url ? undefined : options.defaultRepo?.ref);
  return gitSource({
    url,
    ...(ref && { ref }),
    ...(src.path && { path: src.path }),
    ...(options.auth && { auth: options.auth }),
    ...(options.cacheDir && { cacheDir: options.cacheDir }),
    ...(options.onGitProgress && { onProgress: (e: GitSourceEvent) => options.onGitProgress!(spec.name, e) }),
  });
}

function rendererFor(spec: AppSpec, vars: Record<string, string>): Renderer {
  const render = (spec.render ?? { type: 'yaml' }) as { type?: string; chart?: string; values?: Record<string, unknown>; valuesFiles?: string[]; version?: string };
  switch (render.type ?? 'yaml') {
    case 'yaml':
      return pipe(yamlFiles(), substitute(vars));
    case 'helm':
      if (!render.chart) throw new AppSpecError(`app ${spec.name}: render.chart is required for type helm`, { file: spec.name });
      return helmChart({
        chart: render.chart,
        releaseName: spec.name,
        ...(spec.namespace && { namespace: spec.namespace }),
        ...(render.version && { version: render.version }),
        ...(render.values && { values: render.values }),
        ...(render.valuesFiles && { valuesFiles: render.valuesFiles }),
      });
    default:
      throw new AppSpecError(`app ${spec.name}: unknown render.type ${JSON.stringify(render.type)} (use yaml or helm)`, { file: spec.name });
  }
}
