import { OciError, RegistryClient, type RegistryCredentials } from '@converge/oci';
import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';
import { extractChartArchive } from './chart-archive.js';
import { ChartCache } from './chart-cache.js';
import type { FetchedChartArchive } from './helm-repository.js';
import { MAX_DOWNLOAD_BYTES } from './http-client.js';
import { selectVersion } from './select-version.js';

const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

/**
 * Fetches a chart pushed to an OCI registry (`helm push`): `oci://host[:port]/path/name`.
 * `version` is a tag, or a semver range resolved against the repository's tags (Helm
 * writes `+` as `_` in tags). See {@link chartArchiveFromOci}.
 */
export async function chartFromOci(
  reference: string,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<ChartFile[]> {
  const { archive, label } = await chartArchiveFromOci(reference, version, repository, signal);
  return extractChartArchive(archive, label);
}

/**
 * The chart archive (layer) of an OCI chart and the version chosen (the tag, `_` read as `+`),
 * through `@converge/oci`'s registry client (anonymous, basic, or the token flow; credentials
 * cross plain HTTP only to the registry marked `plainHttp`). The layer is checked against its
 * digest and cached by it. Registry failures keep their `OciError` as `cause`.
 */
export async function chartArchiveFromOci(
  reference: string,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<FetchedChartArchive> {
  const { registry, name } = parseReference(reference);
  const credentials: RegistryCredentials | undefined = repository.token
    ? { token: repository.token }
    : repository.username !== undefined && repository.password !== undefined
      ? { username: repository.username, password: repository.password }
      : undefined;
  const client = new RegistryClient({
    registry,
    insecure: repository.plainHttp === true,
    ...(credentials && { credentials }),
    ...(repository.fetch && { fetch: repository.fetch }),
  });
  const call = signal ? { signal } : {};

  let tag = version?.trim();
  if (!tag || !/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/.test(tag)) {
    const tags = await registryCall(() => client.tags(name, call), reference);
    const chosen = selectVersion(tags.map((t) => t.replace(/_/g, '+')), tag);
    if (!chosen) {
      throw helmError('HELM_CHART_NOT_FOUND', `no tag of ${reference} matches ${version ?? 'a stable version'}`, { reference, available: tags });
    }
    tag = chosen;
  }
  const chosenVersion = tag.replace(/_/g, '+');
  tag = tag.replace(/\+/g, '_');
  const label = `${reference}:${tag}`;

  const manifest = await registryCall(() => client.manifest(name, tag, call), reference);
  const layers = Array.isArray(manifest.json.layers) ? manifest.json.layers : [];
  const layer = layers.find((l) => typeof l === 'object' && l !== null && l.mediaType === HELM_CHART_LAYER);
  const digest = layer?.digest?.replace(/^sha256:/, '');
  if (!layer || !digest) {
    throw helmError('HELM_CHART_INVALID', `${label} is not a Helm chart (no ${HELM_CHART_LAYER} layer)`, { reference });
  }
  const cache = new ChartCache(repository.cacheDir);
  const cached = await cache.get(digest);
  if (cached) return { archive: cached, version: chosenVersion, label };

  const archive = await registryCall(() => client.blob(name, layer.digest, { ...call, maxBytes: MAX_DOWNLOAD_BYTES }), reference);
  await cache.put(digest, archive);
  return { archive, version: chosenVersion, label };
}

/** Runs a registry call, reporting its failure in Helm's terms with the `OciError` as cause. */
async function registryCall<T>(call: () => Promise<T>, reference: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    const code = error.code === 'OCI_NOT_FOUND' ? 'HELM_CHART_NOT_FOUND' : error.code === 'OCI_DIGEST_MISMATCH' ? 'HELM_DIGEST_MISMATCH' : 'HELM_REPOSITORY_ERROR';
    throw helmError(code, `${reference}: ${error.message}`, { reference, retryable: error.retryable }, error);
  }
}

function parseReference(reference: string): { registry: string; name: string } {
  const rest = reference.slice('oci://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1 || rest.includes('@') || /:[^/]*$/.test(rest.slice(slash))) {
    throw helmError('HELM_INVALID_OPTIONS', `invalid OCI chart reference ${reference}: expected oci://registry/path/chart (the version goes in \`version\`)`);
  }
  return { registry: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
