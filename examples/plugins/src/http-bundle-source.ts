import { ConvergeError, memoryFileTree, SourceError, type Artifact, type Source, type SourceCallOptions } from '@converge/core';

/** Options of {@link httpBundleSource}. */
export interface HttpBundleSourceOptions {
  /**
   * Where the bundle is served: a JSON document `{ "files": { "<path>": "<text>", … } }`, with an
   * `ETag` header. Put credentials in `token`, not in the URL.
   */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. It never appears in the source's id or its errors. */
  token?: string;
  /** Deadline of each request in ms, reading the body included. @default 30000 */
  timeoutMs?: number;
  /** The largest bundle accepted, in bytes. @default 33554432 (32 MiB) */
  maxBytes?: number;
  /** The HTTP client, for tests or a proxy-aware one. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/** What one request brought back: the entity tag, and the body when one was read. */
interface Answer {
  status: number;
  etag: string | undefined;
  body?: Uint8Array;
}

/**
 * A {@link Source} over an HTTP endpoint serving a JSON bundle of files, e.g. an internal
 * config service or a CI job's published output. The revision is the bundle's `ETag`
 * (`etag:"…"`): `latestRevision()` is one `HEAD` request, and `fetch()` downloads only when the
 * tag is one it has not seen (`If-None-Match`), so polling costs no downloads.
 *
 * Every request has a deadline (`timeoutMs`, a retryable `SOURCE_TIMEOUT`) and stops when the
 * caller's signal aborts (rejecting with the signal's reason). Errors are typed
 * (`SOURCE_UNAUTHORIZED`, `SOURCE_NOT_FOUND`, `SOURCE_UNAVAILABLE`, `SOURCE_UNREACHABLE`,
 * `SOURCE_NO_ETAG`, `BUNDLE_TOO_LARGE`, `BUNDLE_INVALID`, `REVISION_NOT_FOUND`) and never quote
 * the token or the bundle's content.
 *
 * @example
 * ```ts
 * const source = httpBundleSource({ url: 'https://config.internal/bundles/shop.json', token: process.env['BUNDLE_TOKEN'] ?? '' });
 * const r = createReconciler({ name: 'shop', source, render: yamlFiles(), sink });
 * ```
 */
export function httpBundleSource(options: HttpBundleSourceOptions): Source {
  const url = new URL(options.url);
  // The id is shown in logs and status: no user info, no query (signed URLs carry tokens there).
  const id = `http:${url.origin}${url.pathname}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  // Artifacts are immutable, so the last one can be handed out again for its revision.
  let last: Artifact | undefined;

  async function request(method: 'HEAD' | 'GET', ifNoneMatch: string | undefined, signal: AbortSignal | undefined): Promise<Answer> {
    signal?.throwIfAborted();
    const deadline = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch;
    try {
      const response = await fetchImpl(url, { method, headers, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
      if (response.status === 304) return { status: 304, etag: response.headers.get('etag') ?? ifNoneMatch };
      if (!response.ok) {
        await response.body?.cancel();
        throw statusError(response.status);
      }
      const etag = response.headers.get('etag') ?? undefined;
      if (method === 'HEAD') return { status: response.status, etag };
      return { status: response.status, etag, body: await readCapped(response) };
    } catch (thrown) {
      // The caller cancelled: its reason, unchanged, so the runtime knows it was not our failure.
      if (signal?.aborted) throw signal.reason;
      if (deadline.aborted) {
        throw new SourceError('SOURCE_TIMEOUT', `${id}: no complete answer to ${method} within ${timeoutMs} ms; it will be retried`, {
          data: { retryable: true, timeoutMs },
        });
      }
      if (thrown instanceof ConvergeError) throw thrown;
      // fetch's own message ("fetch failed") says little; its cause names the socket error.
      const reason = thrown instanceof Error ? (thrown.cause instanceof Error ? thrown.cause.message : thrown.message) : String(thrown);
      throw new SourceError('SOURCE_UNREACHABLE', `${id}: ${method} failed: ${reason}`, { cause: thrown, data: { retryable: true } });
    }
  }

  function statusError(status: number): SourceError {
    if (status === 401 || status === 403) {
      return new SourceError('SOURCE_UNAUTHORIZED', `${id}: the server refused the credentials (HTTP ${status}); check the token`, { data: { status } });
    }
    if (status === 404) return new SourceError('SOURCE_NOT_FOUND', `${id}: no bundle at this URL (HTTP 404); check the url`, { data: { status } });
    const retryable = status === 429 || status >= 500;
    return new SourceError(retryable ? 'SOURCE_UNAVAILABLE' : 'SOURCE_HTTP_ERROR', `${id}: the server answered HTTP ${status}`, { data: { status, retryable } });
  }

  async function readCapped(response: Response): Promise<Uint8Array> {
    const tooLarge = () => new SourceError('BUNDLE_TOO_LARGE', `${id}: the bundle is larger than ${maxBytes} bytes; raise maxBytes or split it`, { data: { maxBytes } });
    if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
      await response.body?.cancel();
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(); // leaving the loop cancels the stream
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  function revisionOf(etag: string | undefined): string {
    if (etag === undefined) {
      throw new SourceError('SOURCE_NO_ETAG', `${id}: the server sent no ETag, so a new bundle cannot be told from the old one without downloading it; serve it with an ETag header`);
    }
    return `etag:${etag}`;
  }

  function artifactOf(revision: string, body: Uint8Array): Artifact {
    let files: unknown;
    try {
      files = (JSON.parse(new TextDecoder().decode(body)) as { files?: unknown } | null)?.files;
    } catch {
      // Not the parser's message: it quotes the text, and the bundle may hold secrets.
      throw new SourceError('BUNDLE_INVALID', `${id}: the bundle at ${revision} is not JSON`, { data: { revision } });
    }
    const valid = typeof files === 'object' && files !== null && !Array.isArray(files) && Object.values(files).every((v) => typeof v === 'string');
    if (!valid) throw new SourceError('BUNDLE_INVALID', `${id}: the bundle at ${revision} has no "files" object of path to text`, { data: { revision } });
    return { source: id, revision, files: memoryFileTree(files as Record<string, string>) };
  }

  /** One HEAD request: the ETag is the revision. */
  async function latestRevision(call: SourceCallOptions = {}): Promise<string> {
    return revisionOf((await request('HEAD', undefined, call.signal)).etag);
  }

  /** The artifact at `revision` (default: the latest); downloads only a bundle it has not seen. */
  async function fetchArtifact(revision?: string, call: SourceCallOptions = {}): Promise<Artifact> {
    if (revision !== undefined && revision === last?.revision) return last;
    const known = last;
    const answer = await request('GET', known && known.revision.slice('etag:'.length), call.signal);
    const current = answer.status === 304 && known ? known : artifactOf(revisionOf(answer.etag), answer.body ?? new Uint8Array());
    if (revision !== undefined && current.revision !== revision) {
      // The bundle changed between latestRevision() and fetch(); the next pass takes the new one.
      throw new SourceError('REVISION_NOT_FOUND', `${id}: revision ${revision} is no longer served (now ${current.revision}); the server keeps no history`, {
        data: { revision, latest: current.revision, retryable: true },
      });
    }
    last = current;
    return current;
  }

  return { id, latestRevision, fetch: fetchArtifact };
}
