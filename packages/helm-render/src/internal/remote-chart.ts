import type { ChartLocation } from '../chart-location.js';
import type { ChartFile } from '../engine.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';
import { extractChartArchive } from './chart-archive.js';
import { chartFromRepository } from './helm-repository.js';
import { authorization, download } from './http-client.js';
import { chartFromOci } from './oci-registry.js';

/** Downloads (or reads from the cache) a repository, URL or OCI chart. */
export async function remoteChart(
  location: Exclude<ChartLocation, { kind: 'artifact' }>,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<ChartFile[]> {
  switch (location.kind) {
    case 'repository':
      return chartFromRepository(location.repositoryUrl, location.name, version, repository, signal);
    case 'oci':
      return chartFromOci(location.reference, version, repository, signal);
    case 'archive-url': {
      const { body } = await download(location.url, { repository, headers: authorization(repository), signal, what: 'the chart archive' });
      return extractChartArchive(body, location.url);
    }
  }
}
