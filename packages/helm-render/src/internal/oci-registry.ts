import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';
import { extractChartArchive } from './chart-archive.js';
import { ChartCache, sha256 } from './chart-cache.js';
import type { FetchedChartArchive } from './helm-repository.js';
import { authorization, download } from './http-client.js';
import { selectVersion } from './select-version.js';

const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

interface Manifest {
  layers?: { mediaType?: string; digest?: string; size?: number }[];
}

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
 * The chart archive (layer) of an OCI chart and the version chosen (the tag, `_` read as `+`).
 * The layer is checked against its digest and cached by it.
 * Registry auth: anonymous, basic, or the token flow (`WWW-Authenticate: Bearer`).
 */
export async function chartArchiveFromOci(
  reference: string,
  version: string | undefined,
  repository: ChartRepositoryOptions,
  signal?: AbortSignal,
): Promise<FetchedChartArchive> {
  const { registry, name } = parseReference(reference);
  const scheme = repository.plainHttp ? 'http' : 'https';
  const api = `${scheme}://${registry}/v2/${name}`;
  const client = new RegistryClient(repository, signal);

  let tag = version?.trim();
  if (!tag || !/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/.test(tag)) {
    const tags = (JSON.parse(await client.text(`${api}/tags/list`, 'the tag list')) as { tags?: string[] | null }).tags ?? [];
    const chosen = selectVersion(tags.map((t) => t.replace(/_/g, '+')), tag);
    if (!chosen) {
      throw helmError('HELM_CHART_NOT_FOUND', `no tag of ${reference} matches ${version ?? 'a stable version'}`, { reference, available: tags });
    }
    tag = chosen;
  }
  const chosenVersion = tag.replace(/_/g, '+');
  tag = tag.replace(/\+/g, '_');

  const manifest = JSON.parse(
    await client.text(`${api}/manifests/${encodeURIComponent(tag)}`, `the manifest of ${reference}:${tag}`, { accept: MANIFEST_TYPES.join(', ') }),
  ) as Manifest;
  const layer = manifest.layers?.find((l) => l.mediaType === HELM_CHART_LAYER);
  const digest = layer?.digest?.replace(/^sha256:/, '');
  if (!layer || !digest) {
    throw helmError('HELM_CHART_INVALID', `${reference}:${tag} is not a Helm chart (no ${HELM_CHART_LAYER} layer)`, { reference });
  }
  const label = `${reference}:${tag}`;
  const cache = new ChartCache(repository.cacheDir);
  const cached = await cache.get(digest);
  if (cached) return { archive: cached, version: chosenVersion, label };

  const archive = await client.bytes(`${api}/blobs/${layer.digest}`, `the chart layer of ${label}`);
  const actual = sha256(archive);
  if (actual !== digest) {
    throw helmError('HELM_DIGEST_MISMATCH', `the chart layer of ${label} has digest sha256:${actual}, expected sha256:${digest}`, {
      reference,
      expected: digest,
      actual,
    });
  }
  await cache.put(actual, archive);
  return { archive, version: chosenVersion, label };
}

function parseReference(reference: string): { registry: string; name: string } {
  const rest = reference.slice('oci://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1 || rest.includes('@') || /:[^/]*$/.test(rest.slice(slash))) {
    throw helmError('HELM_INVALID_OPTIONS', `invalid OCI chart reference ${reference}: expected oci://registry/path/chart (the version goes in \`version\`)`);
  }
  return { registry: rest.slice(0, slash), name: rest.slice(slash + 1) };
}

/** Distribution API client with the registry token flow. */
class RegistryClient {
  #token: string | undefined;

  constructor(
    readonly repository: ChartRepositoryOptions,
    readonly signal: AbortSignal | undefined,
  ) {}

  async text(url: string, what: string, headers: Record<string, string> = {}): Promise<string> {
    return Buffer.from(await this.bytes(url, what, headers)).toString('utf8');
  }

  async bytes(url: string, what: string, headers: Record<string, string> = {}): Promise<Uint8Array> {
    const attempt = () =>
      download(url, {
        repository: this.repository,
        headers: { ...headers, ...(this.#token ? { authorization: `Bearer ${this.#token}` } : authorization(this.repository)) },
        signal: this.signal,
        what,
      });
    try {
      return (await attempt()).body;
    } catch (err) {
      const challenge = await this.#challenge(url, err);
      if (!challenge) throw err;
      this.#token = await this.#fetchToken(challenge, new URL(url).host);
      return (await attempt()).body;
    }
  }

  /** On a 401 with a Bearer challenge, its parameters. */
  async #challenge(url: string, err: unknown): Promise<Record<string, string> | undefined> {
    if ((err as { data?: { status?: number } }).data?.status !== 401 || this.#token) return undefined;
    const fetchFn = this.repository.fetch ?? globalThis.fetch;
    const res = await fetchFn(url, { method: 'HEAD', ...(this.signal ? { signal: this.signal } : {}) });
    const header = res.headers.get('www-authenticate') ?? '';
    if (!/^bearer /i.test(header)) return undefined;
    const params: Record<string, string> = {};
    for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
    return params['realm'] ? params : undefined;
  }

  /**
   * Asks the token service the registry named for a token. Credentials go with the request only
   * over TLS, or over plain HTTP to the very host the user marked insecure (`plainHttp`): a
   * registry cannot send them in clear to a host of its choosing by naming it as its realm.
   * Otherwise the token is asked for anonymously.
   */
  async #fetchToken(challenge: Record<string, string>, registryHost: string): Promise<string> {
    const url = new URL(challenge['realm']!);
    if (challenge['service']) url.searchParams.set('service', challenge['service']);
    if (challenge['scope']) url.searchParams.set('scope', challenge['scope']);
    const mayCarryCredentials = url.protocol === 'https:' || (url.protocol === 'http:' && this.repository.plainHttp === true && url.host === registryHost);
    const { body } = await download(url.toString(), {
      repository: this.repository,
      headers: mayCarryCredentials ? authorization(this.repository) : {},
      signal: this.signal,
      what: 'a registry token',
    });
    const json = JSON.parse(Buffer.from(body).toString('utf8')) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (!token) throw helmError('HELM_REPOSITORY_ERROR', `the registry token service at ${url.origin} returned no token`);
    return token;
  }
}
