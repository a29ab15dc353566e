import { posix } from 'node:path';
import type { FileTree } from '@converge/core';
import { packTarGz } from '@converge/oci';
import { parse } from 'yaml';
import type { ChartLocation } from '../chart-location.js';
import type { ChartFile } from '../engine.js';
import { HelmError, helmError } from '../errors.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';
import { chartFromArtifact } from './artifact-chart.js';
import { extractChartArchive } from './chart-archive.js';
import { type ChartDependency, type ChartLock, hashReq, hashV2Req, toDependency, toLock } from './dependency-lock.js';
import { HelmIgnore } from './helm-ignore.js';
import { chartArchiveFromIndex, type FetchedChartArchive, fetchRepositoryIndex, type RepositoryIndex } from './helm-repository.js';
import { chartArchiveFromOci } from './oci-registry.js';
import { selectVersion } from './select-version.js';

/** Reads the files of the chart folder a `file://` dependency points to (path relative to the chart). */
export type LocalChartReader = (relativePath: string) => Promise<ChartFile[]>;

/** What {@link withDependencies} needs besides the chart. */
export interface DependencyContext {
  /** Reads `file://` dependencies. */
  local: LocalChartReader;
  /** Cache folder, `fetch` and `plainHttp` used for every dependency repository. */
  repository: ChartRepositoryOptions;
  /** Credentials and settings per dependency repository URL, as written in `Chart.yaml`. */
  dependencyRepositories: Record<string, ChartRepositoryOptions>;
  signal?: AbortSignal | undefined;
}

/** One chart to put into `charts/`: what to fetch, and the declaration it answers. */
interface Wanted {
  declared: ChartDependency;
  name: string;
  repository: string;
  /** The lock's exact version, or the constraint of `Chart.yaml`. */
  version: string;
}

/**
 * Fills `charts/` the way `helm dependency build` does, for the dependencies `Chart.yaml`
 * (or `requirements.yaml`) names that `charts/` does not hold: with a `Chart.lock` (or
 * `requirements.lock`), exactly the locked versions, after checking the lock's digest against
 * the declared dependencies; without one, the newest version matching each constraint, as
 * `helm dependency update` resolves it. Charts come from Helm repositories (`http(s)://`), OCI
 * registries (`oci://`) and folders (`file://`), and are added as `charts/<name>-<version>.tgz`.
 *
 * Dependencies already in `charts/` (a folder or archive whose `Chart.yaml` has the name) are
 * used as they are, with no network access, as `helm template` uses them. `condition`, `tags`,
 * `alias` and `import-values` are left to Helm's engine. Dependencies of dependencies are not
 * fetched (`helm dependency build` does not either).
 */
export async function withDependencies(files: ChartFile[], ctx: DependencyContext): Promise<ChartFile[]> {
  let chartYaml: Record<string, unknown> | undefined;
  try {
    chartYaml = readYaml(files, 'Chart.yaml') as typeof chartYaml;
  } catch {
    return files; // the engine reports a Chart.yaml it cannot load, as `helm template` does
  }
  if (!chartYaml || typeof chartYaml !== 'object') return files;
  const v1 = chartYaml['apiVersion'] === undefined || chartYaml['apiVersion'] === 'v1';
  const declaredRaw = v1 ? ((readYaml(files, 'requirements.yaml') as Record<string, unknown> | undefined)?.['dependencies'] ?? chartYaml['dependencies']) : chartYaml['dependencies'];
  if (!Array.isArray(declaredRaw) || declaredRaw.length === 0) return files;
  const declared = declaredRaw.map((d) => toDependency(d, true));

  const vendored = await vendoredNames(files);
  // A dependency with no repository can only be vendored: left to the engine, which reports
  // it as HELM_DEPENDENCY_MISSING, as `helm template` does.
  const missing = declared.flatMap((d, i) => (d && d.name && d.repository !== '' && !vendored.has(d.name) ? [i] : []));
  if (missing.length === 0) return files;

  const lockFile = v1 ? 'requirements.lock' : 'Chart.lock';
  const lockRaw = readYaml(files, lockFile);
  const lock = lockRaw === undefined ? undefined : toLock(lockRaw);
  if (lock) checkLock(lock, declared, lockFile, v1);

  const wanted: Wanted[] = missing.map((i) => {
    const d = declared[i]!;
    const locked = lock?.dependencies?.[i];
    return locked ? { declared: d, name: locked.name, repository: locked.repository, version: locked.version } : { declared: d, name: d.name, repository: d.repository, version: d.version };
  });

  const indexes = new Map<string, Promise<RepositoryIndex>>();
  const fetched = await Promise.allSettled(wanted.map((w) => fetchDependency(w, ctx, indexes, lock !== undefined)));
  const added = new Map<string, Uint8Array>();
  for (const [i, result] of fetched.entries()) {
    if (result.status === 'rejected') throw dependencyError(wanted[i]!, result.reason);
    added.set(`charts/${result.value.name}-${result.value.version}.tgz`, result.value.archive);
  }
  return [...files.filter((f) => !added.has(f.name)), ...[...added].map(([name, data]) => ({ name, data }))];
}

/**
 * Reads `file://` dependencies of a chart: for a chart folder in the artifact, from the
 * artifact, relative to that folder (never above the artifact root); for any other chart
 * (a repository, URL or OCI chart, an archive in the artifact), from inside the chart itself.
 */
export function localChartReader(location: ChartLocation, tree: FileTree, chartFiles: ChartFile[], signal?: AbortSignal): LocalChartReader {
  return async (relativePath) => {
    if (location.kind === 'artifact' && !location.path.endsWith('.tgz')) {
      const path = posix.normalize(posix.join(location.path || '.', relativePath));
      if (posix.isAbsolute(relativePath) || path === '..' || path.startsWith('../')) {
        throw helmError('HELM_CHART_NOT_FOUND', `folder ${relativePath} is outside the artifact`);
      }
      return chartFromArtifact(tree, path === '.' ? '' : path, signal);
    }
    const path = posix.normalize(relativePath);
    if (posix.isAbsolute(relativePath) || path === '.' || path === '..' || path.startsWith('../')) {
      throw helmError('HELM_CHART_NOT_FOUND', `folder ${relativePath} is outside the chart`);
    }
    const prefix = `${path.replace(/\/+$/, '')}/`;
    const inside = chartFiles.filter((f) => f.name.startsWith(prefix)).map((f) => ({ name: f.name.slice(prefix.length), data: f.data }));
    if (!inside.some((f) => f.name === 'Chart.yaml')) throw helmError('HELM_CHART_NOT_FOUND', `no chart at ${path} in the chart`);
    return inside;
  };
}

/** `helm dependency build`'s lock check: the digest of the declared and the locked dependencies. */
function checkLock(lock: ChartLock, declared: (ChartDependency | null)[], lockFile: string, v1: boolean): void {
  if (hashReq(declared, lock.dependencies) === lock.digest) return;
  if (v1 && hashV2Req(declared) === lock.digest) return;
  const yamlFile = v1 ? 'requirements.yaml' : 'Chart.yaml';
  throw helmError(
    'HELM_DEPENDENCY_LOCK_OUTDATED',
    `the lock file (${lockFile}) is out of sync with the dependencies file (${yamlFile}): run \`helm dependency update\` and commit ${lockFile}`,
    { position: { file: lockFile }, digest: lock.digest },
  );
}

/** The names (from their `Chart.yaml`) of the charts vendored in `charts/`, as Helm's loader finds them. */
async function vendoredNames(files: ChartFile[]): Promise<Set<string>> {
  const entries = new Map<string, ChartFile[]>();
  for (const f of files) {
    if (!f.name.startsWith('charts/') || f.name.endsWith('.prov')) continue;
    const rest = f.name.slice('charts/'.length);
    const slash = rest.indexOf('/');
    const entry = slash < 0 ? rest : rest.slice(0, slash);
    if (entry === '' || entry.startsWith('_') || entry.startsWith('.')) continue;
    entries.set(entry, [...(entries.get(entry) ?? []), f]);
  }
  const names = new Set<string>();
  for (const [entry, group] of entries) {
    try {
      const chartFiles = entry.endsWith('.tgz') ? await extractChartArchive(group[0]!.data, `charts/${entry}`) : group.map((f) => ({ name: f.name.slice(`charts/${entry}/`.length), data: f.data }));
      const name = (readYaml(chartFiles, 'Chart.yaml') as { name?: unknown } | undefined)?.name;
      if (typeof name === 'string') names.add(name.trim());
    } catch {
      // Not a chart: the engine reports it when it loads charts/.
    }
  }
  return names;
}

async function fetchDependency(
  w: Wanted,
  ctx: DependencyContext,
  indexes: Map<string, Promise<RepositoryIndex>>,
  locked: boolean,
): Promise<FetchedChartArchive & { name: string }> {
  const { repository } = w;
  if (!w.version) throw helmError('HELM_INVALID_OPTIONS', `it has no version; Helm needs a version or a semver range`);
  if (repository === '') throw helmError('HELM_CHART_NOT_FOUND', `it names no repository and charts/ does not hold it`);

  if (repository.startsWith('file://')) {
    const files = await ctx.local(repository.slice('file://'.length));
    const kept = files.filter((f) => !new HelmIgnore(textOf(files, '.helmignore')).ignores(f.name));
    const meta = readYaml(kept, 'Chart.yaml') as { name?: unknown; version?: unknown } | undefined;
    const name = typeof meta?.name === 'string' ? meta.name : w.name;
    const version = meta?.version === undefined ? '' : String(meta.version);
    if (!selectVersion([version], w.version)) {
      throw helmError('HELM_CHART_NOT_FOUND', `the chart at ${repository} has version ${version || '(none)'}, which does not satisfy ${w.version}`, { available: [version] });
    }
    // Laid out as `helm package` does: under a top folder named after the chart.
    return { name, version, archive: await packTarGz(new Map(kept.map((f) => [`${name}/${f.name}`, f.data]))), label: repository };
  }

  const { url, options } = repositoryOf(repository, ctx);
  if (repository.startsWith('oci://')) {
    return { name: w.name, ...(await chartArchiveFromOci(`${url}/${w.name}`, w.version, options, ctx.signal)) };
  }
  if (/^https?:\/\//i.test(repository)) {
    let index = indexes.get(url);
    if (!index) indexes.set(url, (index = fetchRepositoryIndex(url, options, ctx.signal)));
    return { name: w.name, ...(await chartArchiveFromIndex(await index, w.name, locked ? exactly(w.version) : w.version, options, ctx.signal)) };
  }
  throw helmError(
    'HELM_INVALID_OPTIONS',
    repository.startsWith('@') || repository.startsWith('alias:')
      ? `repository ${repository} names a repository added with \`helm repo add\`, which helm-render does not read: write its URL in Chart.yaml`
      : `repository ${repository} is not an http(s)://, oci:// or file:// URL`,
  );
}

/** A locked version as a range that only it satisfies (`=1.2.3`), so `1.2` is not read as `1.2.x`. */
const exactly = (version: string) => (/^[v=]?\d/.test(version.trim()) ? `=${version.trim().replace(/^[v=]/, '')}` : version);

/**
 * Where a dependency repository is, and the options to read it with: the chart's transport
 * settings, then the user info of the URL (`https://user:pass@host/…`, sent as basic auth as
 * Helm's getter sends it), then its own `dependencyRepositories` entry.
 */
function repositoryOf(repository: string, ctx: DependencyContext): { url: string; options: ChartRepositoryOptions } {
  const url = withoutUserInfo(repository).replace(/\/+$/, '');
  const own = Object.entries(ctx.dependencyRepositories).find(([u]) => withoutUserInfo(u).replace(/\/+$/, '') === url)?.[1] ?? {};
  const { cacheDir, fetch, plainHttp } = ctx.repository;
  const userInfo = /^\w+:\/\/([^/@]*)@/.exec(repository)?.[1];
  const [username, password] = userInfo === undefined ? [] : userInfo.split(':').map((p) => decodeURIComponent(p));
  return {
    url,
    options: {
      ...(cacheDir === undefined ? {} : { cacheDir }),
      ...(fetch === undefined ? {} : { fetch }),
      ...(plainHttp === undefined ? {} : { plainHttp }),
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...own,
    },
  };
}

/** A repository URL without user info or query, as written otherwise: for messages and keys. */
const withoutUserInfo = (url: string) => url.replace(/^(\w+:\/\/)[^/@]*@/, '$1').replace(/\?.*$/, '');

/** The typed error for a dependency that could not be fetched, naming it, its version and repository. */
function dependencyError(w: Wanted, err: unknown): unknown {
  if (!(err instanceof HelmError)) return err;
  const repository = withoutUserInfo(w.repository);
  const shown = w.declared.alias ? `${w.name} (alias ${w.declared.alias})` : w.name;
  const data = { ...err.data, dependency: w.name, version: w.version, repository };
  const what = `dependency ${shown} version ${JSON.stringify(w.version)} from ${repository || '(no repository)'}`;
  const unresolved = err.code === 'HELM_CHART_NOT_FOUND' || err.code === 'HELM_REPOSITORY_ERROR' || err.code === 'HELM_INVALID_OPTIONS';
  return unresolved
    ? helmError('HELM_DEPENDENCY_UNRESOLVED', `${what} cannot be resolved: ${err.message}`, data, err)
    : helmError(err.code, `${what}: ${err.message}`, data, err);
}

function textOf(files: ChartFile[], name: string): string | undefined {
  const file = files.find((f) => f.name === name);
  return file && Buffer.from(file.data).toString('utf8');
}

function readYaml(files: ChartFile[], name: string): unknown {
  const text = textOf(files, name);
  if (text === undefined) return undefined;
  try {
    return parse(text.replace(/^\uFEFF/, ''), { maxAliasCount: 1000 });
  } catch (err) {
    throw helmError('HELM_CHART_INVALID', `cannot load ${name}: ${(err as Error).message}`, { position: { file: name } }, err);
  }
}
