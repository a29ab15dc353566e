import type { ChartLocation } from '../chart-location.js';
import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';

/** Downloads (or reads from the cache) a repository, URL or OCI chart. */
export async function remoteChart(
  location: Exclude<ChartLocation, { kind: 'artifact' }>,
  _version: string | undefined,
  _repository: ChartRepositoryOptions,
  _signal?: AbortSignal,
): Promise<ChartFile[]> {
  throw helmError('HELM_REPOSITORY_ERROR', `not implemented: ${location.kind}`);
}
