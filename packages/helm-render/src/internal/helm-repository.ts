import { parse } from 'yaml';
import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';
import { extractChartArchive } from './chart-archive.js';
import { ChartCache, sha256 } from './chart-cache.js';
import { authorization, download, redact } from './http-client.js';
import { selectVersion } from './select-version.js';

interface IndexEntry {
  name?: string;
  version?: string;
  urls?: string[];
  digest?: string;
}

/** A Helm repository's `index.yaml`, read once and used for any number of charts. */
export interface RepositoryIndex {
  /** The repository URL, ending in `/`. */
  base: string;
  entries: Record<string, IndexEntry[]>;
}

/** A chart archive fetched from a repository or registry, with the version chosen. */
export interface FetchedChartArchive {
  archive: Uint8Array;
  version: string;
  /** e.g. `web-1.2.3.tgz`, for messages. */
  label: string;
}

/** Reads a Helm repository's `index.yaml`. */
export async function fetchRepositoryIndex(repositoryUrl: string, repository: ChartRepositoryOptions, signal?: AbortSignal): Promise<RepositoryIndex> {
  const base = repositoryUrl.endsWith('/') ? repositoryUrl : `${repositoryUrl}/`;
  const { body } = await download(new URL('index.yaml', base).toString(), { repository, headers: authorization(repository), signal, what: 'the repository index' });
  let index: { entries?: Record<string, IndexEntry[]> };
  try {
    index = parse(Buffer.from(body).toString('utf8'), { maxAliasCount: 1000 }) as typeof index;
  } catch (err) {
    throw helmError('HELM_REPOSITORY_ERROR', `the index.yaml of ${redact(base)} is not valid YAML: ${(err as Error).message}`, {}, err);
  }
  return { base, entries: index?.entries ?? {} };
}

/**
 * Downloads (or reads from the cache) the newest version of chart `name` in a repository
 * index that matches `version`, checking it against the index's `digest`. Archives are cached
 * by digest. Credentials are sent to the repository's own origin only (like Helm without
 * `--pass-credentials`).
 */
export async function chartArchiveFromIndex(
  index: RepositoryIndex,
  name: string,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<FetchedChartArchive> {
  const { base } = index;
  const entries = (index.entries[name] ?? []).filter((e) => typeof e?.version === 'string');
  if (entries.length === 0) {
    throw helmError('HELM_CHART_NOT_FOUND', `chart ${name} not found in the Helm repository ${redact(base)}`, { url: redact(base) });
  }
  const chosen = selectVersion(entries.map((e) => e.version!), version);
  const entry = entries.find((e) => e.version === chosen);
  if (!chosen || !entry) {
    throw helmError('HELM_CHART_NOT_FOUND', `no version of chart ${name} in ${redact(base)} matches ${version ?? 'a stable version'}`, {
      url: redact(base),
      available: entries.map((e) => e.version!),
    });
  }
  const archiveUrl = entry.urls?.[0];
  if (!archiveUrl) throw helmError('HELM_REPOSITORY_ERROR', `chart ${name} ${chosen} in ${redact(base)} has no download URL`);
  const url = new URL(archiveUrl, base).toString();
  const label = `${name}-${chosen}.tgz`;

  const digest = entry.digest?.replace(/^sha256:/, '').toLowerCase();
  const cache = new ChartCache(repository.cacheDir);
  if (digest) {
    const cached = await cache.get(digest);
    if (cached) return { archive: cached, version: chosen, label };
  }
  const sameOrigin = new URL(url).origin === new URL(base).origin;
  const { body: archive } = await download(url, { repository, headers: sameOrigin ? authorization(repository) : {}, signal, what: `chart ${label}` });
  const actual = sha256(archive);
  if (digest && actual !== digest) {
    throw helmError('HELM_DIGEST_MISMATCH', `chart ${label} from ${redact(url)} has digest sha256:${actual}, but the repository index says sha256:${digest}`, {
      url: redact(url),
      expected: digest,
      actual,
    });
  }
  await cache.put(actual, archive);
  return { archive, version: chosen, label };
}

/**
 * Fetches a chart from a Helm HTTP repository: reads `index.yaml`, picks the newest version
 * matching `version`, and downloads its archive (see {@link chartArchiveFromIndex}), so a
 * second render downloads only the index.
 */
export async function chartFromRepository(
  repositoryUrl: string,
  name: string,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<ChartFile[]> {
  const index = await fetchRepositoryIndex(repositoryUrl, repository, signal);
  const { archive, label } = await chartArchiveFromIndex(index, name, version, repository, signal);
  return extractChartArchive(archive, label);
}
