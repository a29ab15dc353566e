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

/**
 * Fetches a chart from a Helm HTTP repository: reads `index.yaml`, picks the newest version
 * matching `version`, and downloads its archive, checking it against the index's `digest`.
 * Archives are cached by digest, so a second render downloads only the index. Credentials are
 * sent to the repository's own origin only (like Helm without `--pass-credentials`).
 */
export async function chartFromRepository(
  repositoryUrl: string,
  name: string,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<ChartFile[]> {
  const base = repositoryUrl.endsWith('/') ? repositoryUrl : `${repositoryUrl}/`;
  const auth = authorization(repository);
  const { body } = await download(new URL('index.yaml', base).toString(), { repository, headers: auth, signal, what: 'the repository index' });

  let index: { entries?: Record<string, IndexEntry[]> };
  try {
    index = parse(Buffer.from(body).toString('utf8'), { maxAliasCount: 1000 }) as typeof index;
  } catch (err) {
    throw helmError('HELM_REPOSITORY_ERROR', `the index.yaml of ${redact(base)} is not valid YAML: ${(err as Error).message}`, {}, err);
  }
  const entries = (index?.entries?.[name] ?? []).filter((e) => typeof e?.version === 'string');
  if (entries.length === 0) {
    throw helmError('HELM_CHART_NOT_FOUND', `chart ${name} not found in the Helm repository ${redact(base)}`, { url: redact(base) });
  }
  const chosen = selectVersion(entries.map((e) => e.version!), version);
  const entry = entries.find((e) => e.version === chosen);
  if (!entry) {
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
    if (cached) return extractChartArchive(cached, label);
  }
  const sameOrigin = new URL(url).origin === new URL(base).origin;
  const { body: archive } = await download(url, { repository, headers: sameOrigin ? auth : {}, signal, what: `chart ${label}` });
  const actual = sha256(archive);
  if (digest && actual !== digest) {
    throw helmError('HELM_DIGEST_MISMATCH', `chart ${label} from ${redact(url)} has digest sha256:${actual}, but the repository index says sha256:${digest}`, {
      url: redact(url),
      expected: digest,
      actual,
    });
  }
  await cache.put(actual, archive);
  return extractChartArchive(archive, label);
}
