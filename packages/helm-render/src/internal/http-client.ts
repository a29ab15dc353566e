import { helmError } from '../errors.js';
import type { ChartRepositoryOptions } from '../helm-chart-options.js';

/** Largest index.yaml, manifest or chart archive we download. */
export const MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024;

/**
 * GETs a URL and returns its body, failing with `HELM_REPOSITORY_ERROR` (or
 * `HELM_CHART_NOT_FOUND` for 404) with the URL but never the credentials in the message.
 */
export async function download(
  url: string,
  o: { repository: ChartRepositoryOptions; headers?: Record<string, string>; signal?: AbortSignal | undefined; what: string },
): Promise<{ body: Uint8Array; response: Response }> {
  const fetchFn = o.repository.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetchFn(url, { headers: o.headers ?? {}, redirect: 'follow', ...(o.signal ? { signal: o.signal } : {}) });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    // fetch's own messages may quote the URL, user info included.
    const message = (err as Error).message.replaceAll(url, redact(url)).replace(/(\w+:\/\/)[^/@\s]*@/g, '$1');
    throw helmError('HELM_REPOSITORY_ERROR', `cannot download ${o.what} from ${redact(url)}: ${message}`, { url: redact(url), retryable: true }, err);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const code = response.status === 404 ? 'HELM_CHART_NOT_FOUND' : 'HELM_REPOSITORY_ERROR';
    throw helmError(code, `cannot download ${o.what} from ${redact(url)}: HTTP ${response.status} ${response.statusText}`, {
      url: redact(url),
      status: response.status,
      retryable: response.status >= 500 || response.status === 429,
    });
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_DOWNLOAD_BYTES) {
    await response.body?.cancel();
    throw helmError('HELM_REPOSITORY_ERROR', `${o.what} at ${redact(url)} is larger than ${MAX_DOWNLOAD_BYTES} bytes`, { url: redact(url) });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += (chunk as Uint8Array).byteLength;
    if (total > MAX_DOWNLOAD_BYTES) {
      throw helmError('HELM_REPOSITORY_ERROR', `${o.what} at ${redact(url)} is larger than ${MAX_DOWNLOAD_BYTES} bytes`, { url: redact(url) });
    }
    chunks.push(chunk as Uint8Array);
  }
  return { body: new Uint8Array(Buffer.concat(chunks)), response };
}

/** Basic or bearer `Authorization` header from repository options, if any. */
export function authorization(repository: ChartRepositoryOptions): Record<string, string> {
  if (repository.token) return { authorization: `Bearer ${repository.token}` };
  if (repository.username !== undefined || repository.password !== undefined) {
    const basic = Buffer.from(`${repository.username ?? ''}:${repository.password ?? ''}`).toString('base64');
    return { authorization: `Basic ${basic}` };
  }
  return {};
}

/** A URL without user info or query string, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return url;
  }
}
