import { AppSpecError, type AppSpec } from '@converge/fleet';
import { parseGitRef, type GitRef } from '@converge/git-source';
import type { OciRef } from '@converge/oci';

/** An OCI artifact an application follows instead of a repository (what CI pushed with `pushArtifact` or `flux push artifact`). */
export interface OciAppSource {
  /** `oci://<registry>/<repository>`. */
  url: string;
  /** Exactly one of tag, semver, digest. @default { tag: 'latest' } */
  ref?: OciRef;
  /** Plain HTTP to the registry (loopback tests). @default false */
  insecure?: boolean;
}

/** Where an application's manifests live: a git repository, a local folder, or an OCI artifact. */
export interface GitAppSource {
  /** An OCI artifact instead of a repository. @default none */
  oci?: OciAppSource;
  /** The repository. @default the factory's `defaultRepo` */
  url?: string;
  /** A local folder instead of a repository (e.g. a CI checkout). @default none */
  dir?: string;
  /** Which commit of `url`: exactly one of branch, tag, semver, commit, name. @default the repository's default branch (or `defaultRepo.ref`) */
  ref?: GitRef;
  /** The folder inside the repository or `dir`. @default the root */
  path?: string;
}

/** How an application is rendered: plain YAML (with `${VAR}` substitution of its `vars`), or a Helm chart. */
export type GitAppRender =
  | { type: 'yaml' }
  | {
      type: 'helm';
      /** The chart: a path inside the source, a repository URL or `oci://…`. */
      chart: string;
      /** The chart version (repository and OCI charts). */
      version?: string;
      /** Values, over the chart's defaults. */
      values?: Record<string, unknown>;
      /** Values files inside the source, applied in order before `values`. */
      valuesFiles?: string[];
    };

/** An app spec whose `source` and `render` {@link parseGitAppSpec} has checked. */
export type GitAppSpec = AppSpec<GitAppSource, GitAppRender> & { source: GitAppSource; render: GitAppRender };

/**
 * Checks a spec's `source` (`url`, `dir`, `ref`, `path`, or `oci` with `url`, `ref`, `insecure`) and `render` (`type: yaml` by
 * default, or `type: helm` with `chart`, `version`, `values`, `valuesFiles`) and returns them
 * typed: a fleet's `parseSpec`.
 *
 * @throws {AppSpecError} naming the file and the field at fault.
 */
export function parseGitAppSpec(spec: AppSpec, { file }: { file: string }): GitAppSpec {
  const fail = (message: string): never => {
    throw new AppSpecError(`${file}: ${message}`, { file });
  };
  const raw = spec.source ?? {};
  const source: GitAppSource = {};
  for (const field of ['url', 'dir', 'path'] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') fail(`source.${field} must be a non-empty string`);
    source[field] = value as string;
  }
  if (source.url !== undefined && source.dir !== undefined) fail('source names both url and dir; give one');
  if (raw['ref'] !== undefined) source.ref = parseRef(raw['ref'], fail);
  if (raw['oci'] !== undefined) {
    if (source.url !== undefined || source.dir !== undefined || source.ref !== undefined) fail('source.oci goes without url, dir and ref (its ref is source.oci.ref)');
    source.oci = parseOci(raw['oci'], fail);
  }

  const render = spec.render ?? { type: 'yaml' };
  const type = render['type'] ?? 'yaml';
  if (type === 'yaml') return { ...spec, source, render: { type: 'yaml' } };
  if (type !== 'helm') return fail(`unknown render.type ${JSON.stringify(type)} (use yaml or helm)`);
  const { chart, version, values, valuesFiles } = render;
  if (typeof chart !== 'string' || chart === '') return fail('render.chart is required for type helm');
  if (version !== undefined && typeof version !== 'string') fail('render.version must be a string');
  if (values !== undefined && !isMap(values)) fail('render.values must be a mapping');
  if (valuesFiles !== undefined && !(Array.isArray(valuesFiles) && valuesFiles.every((f) => typeof f === 'string'))) fail('render.valuesFiles must be a list of strings');
  return {
    ...spec,
    source,
    render: {
      type: 'helm',
      chart,
      ...(typeof version === 'string' && { version }),
      ...(isMap(values) && { values }),
      ...(Array.isArray(valuesFiles) && { valuesFiles: valuesFiles.map(String) }),
    },
  };
}

const OCI_REF_KINDS = ['tag', 'semver', 'digest'] as const;

function parseOci(raw: unknown, fail: (message: string) => never): OciAppSource {
  if (!isMap(raw)) return fail('source.oci must be a mapping');
  const { url, ref, insecure } = raw;
  if (typeof url !== 'string' || !url.startsWith('oci://')) return fail('source.oci.url must be an oci://<registry>/<repository> URL');
  if (insecure !== undefined && typeof insecure !== 'boolean') fail('source.oci.insecure must be true or false');
  const oci: OciAppSource = { url, ...(insecure === true && { insecure }) };
  if (ref === undefined) return oci;
  if (!isMap(ref)) return fail('source.oci.ref must be a mapping');
  const given = OCI_REF_KINDS.filter((kind) => ref[kind] !== undefined);
  const kind = given[0];
  if (given.length !== 1 || kind === undefined) return fail(`source.oci.ref must name exactly one of ${OCI_REF_KINDS.join(', ')}`);
  const value = ref[kind];
  if (typeof value !== 'string' || value === '') return fail(`source.oci.ref.${kind} must be a non-empty string`);
  switch (kind) {
    case 'tag':
      return { ...oci, ref: { tag: value } };
    case 'semver':
      return { ...oci, ref: { semver: value } };
    case 'digest':
      return { ...oci, ref: { digest: value } };
  }
}

function parseRef(raw: unknown, fail: (message: string) => never): GitRef {
  try {
    return parseGitRef(raw);
  } catch (error) {
    return fail(`source.${(error as Error).message}`);
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
