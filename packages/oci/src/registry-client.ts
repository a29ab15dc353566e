import { createHash } from 'node:crypto';
import { sleep, systemClock, type Clock } from '@converge/core';
import type { RegistryCredentials } from './credentials.js';
import { isDigest, isTag } from './image-reference.js';
import { parseChallenges, type Challenge } from './internal/challenge.js';
import { describeNetworkError } from './internal/network-error.js';
import { readBounded } from './internal/read-bounded.js';
import { OciError, type OciErrorCode } from './oci-error.js';

/** Media types a runtime may pull: OCI index and manifest, Docker manifest list and v2 (v1 for old images). */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
] as const;

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** The registry host, with port when not 443 (or 80), e.g. `ghcr.io` or `127.0.0.1:5000`. */
  registry: string;
  /** Credentials for this registry; see {@link RegistryCredentials}. @default anonymous */
  credentials?: RegistryCredentials;
  /**
   * Talk plain `http://` to this registry (loopback tests, as Flux's `spec.insecure`). Credentials
   * then cross plain HTTP to this host only; a token service the registry names on another host
   * gets them only over TLS.
   * @default false
   */
  insecure?: boolean;
  /**
   * Other hosts (with port) the caller allows plain HTTP to, such as a loopback token service:
   * a token realm on one of them receives credentials over plain HTTP.
   * @default []
   */
  insecureHosts?: readonly string[];
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time allowed for each request, body included, in ms. @default 30000 */
  timeoutMs?: number;
  /** How often a read that failed on the network or with 429/502/503/504 is tried again. @default 2 */
  retries?: number;
  /** The clock retries wait on. @default systemClock */
  clock?: Clock;
}

/** Where a manifest is, as the registry answered a `HEAD`. */
export interface ResolvedManifest {
  /** `sha256:…`, from `Docker-Content-Digest` (or the hash of the manifest when the registry omits it). */
  digest: string;
  /** The manifest's media type, when the registry said. */
  mediaType?: string;
}

/** A manifest as fetched: its bytes (checked against their digest) and the parsed JSON. */
export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  json: OciManifest;
}

/** The fields of an OCI image manifest or index this package reads. */
export interface OciManifest {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: OciDescriptor;
  layers?: OciDescriptor[];
  manifests?: (OciDescriptor & { platform?: { os?: string; architecture?: string } })[];
  annotations?: Record<string, string>;
}

/** An OCI content descriptor. */
export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** Options of one call. */
export interface RegistryCallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** Options of a call that downloads content. */
export interface RegistryReadOptions extends RegistryCallOptions {
  /** The most bytes to accept. Manifests: 4 MiB by default (distribution's own limit); blobs: 64 MiB. */
  maxBytes?: number;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_BLOB_BYTES = 64 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_TAG_PAGES = 1000;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

interface SentAuth {
  header: string;
  kind: 'static' | 'basic' | 'bearer';
  token?: Promise<string>;
}

interface Request {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  url: URL;
  scope: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal: AbortSignal;
}

/**
 * The one OCI distribution client of Converge, for one registry: manifests, blobs and tags,
 * reads and pushes, used by the image gate, Helm's OCI charts, `ociSource` and `pushArtifact`.
 *
 * Auth follows the registry's challenge: anonymous, HTTP Basic, or the token flow
 * (`WWW-Authenticate: Bearer realm=…`), one token per repository scope, renewed once when it
 * expires. Credentials cross plain HTTP only to a registry the caller marked `insecure`; a token
 * realm the registry names gets them only over TLS or when it is that same insecure host, so a
 * registry cannot have them sent in clear to a host of its choosing. Redirects (blob downloads
 * from a CDN) are followed by hand: the `Authorization` header never leaves the registry's host,
 * and a redirect from TLS to plain HTTP is refused. Content is checked against its digest and
 * bounded in size; every request has a deadline; reads are retried on 429 and 5xx
 * (honouring `Retry-After`) and on network errors.
 *
 * @example
 * ```ts
 * const client = new RegistryClient({ registry: 'ghcr.io', credentials: { username: 'ci', password: token } });
 * const { digest } = await client.resolve('acme/manifests', 'v1.4.0');
 * ```
 */
export class RegistryClient {
  /** The registry host this client talks to. */
  readonly registry: string;
  readonly #o: Required<Omit<RegistryClientOptions, 'credentials'>> & { credentials: RegistryCredentials | undefined };
  readonly #base: string;
  /** The registry's host as URLs spell it (lowercase, no default port), to compare with where a request goes. */
  readonly #host: string;
  readonly #tokens = new Map<string, Promise<string>>();
  #basic = false;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.#o = {
      registry: options.registry,
      credentials: options.credentials,
      insecure: options.insecure ?? false,
      insecureHosts: options.insecureHosts ?? [],
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 2,
      clock: options.clock ?? systemClock,
    };
    this.#base = `${this.#o.insecure ? 'http' : 'https'}://${options.registry}`;
    this.#host = new URL(this.#base).host;
  }

  /**
   * `HEAD /v2/<repository>/manifests/<reference>`: the digest a tag points at, without
   * downloading anything (`GET` for the few registries that do not implement `HEAD`).
   * @throws {@link OciError} `OCI_NOT_FOUND`, `OCI_DENIED`, `OCI_UNREACHABLE`, `OCI_REGISTRY_ERROR`.
   */
  async resolve(repository: string, reference: string, options: RegistryCallOptions = {}): Promise<ResolvedManifest> {
    const what = `the manifest ${repository}:${reference}`;
    const url = this.#url(repository, 'manifests', reference, what);
    const headers = { accept: MANIFEST_MEDIA_TYPES.join(', ') };
    let res = await this.#request({ method: 'HEAD', url, scope: pull(repository), headers, ...this.#signal(options) }, what);
    if (res.status === 405 || res.status === 501) {
      await res.body?.cancel();
      res = await this.#request({ method: 'GET', url, scope: pull(repository), headers, ...this.#signal(options) }, what);
      const bytes = await this.#body(res, what, MAX_MANIFEST_BYTES);
      return withMediaType({ digest: this.#answeredDigest(res.headers.get('docker-content-digest') ?? sha256(bytes), reference, what) }, res);
    }
    await res.body?.cancel();
    const digest = res.headers.get('docker-content-digest');
    if (digest) return withMediaType({ digest: this.#answeredDigest(digest, reference, what) }, res);
    // The header is optional in the spec: hash the manifest itself.
    const { digest: computed, mediaType } = await this.manifest(repository, reference, options);
    return { digest: computed, mediaType };
  }

  /**
   * `GET /v2/<repository>/manifests/<reference>`: the manifest's bytes and JSON. When the
   * reference is a digest, the bytes must hash to it (sha256 or sha512; another algorithm cannot
   * be checked and is refused).
   * @throws {@link OciError} as {@link RegistryClient.resolve}, and `OCI_DIGEST_MISMATCH`, `OCI_TOO_LARGE`.
   */
  async manifest(repository: string, reference: string, options: RegistryReadOptions = {}): Promise<FetchedManifest> {
    const what = `the manifest ${repository}:${reference}`;
    const res = await this.#request(
      { method: 'GET', url: this.#url(repository, 'manifests', reference, what), scope: pull(repository), headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') }, ...this.#signal(options) },
      what,
    );
    const bytes = await this.#body(res, what, options.maxBytes ?? MAX_MANIFEST_BYTES);
    const digest = sha256(bytes);
    if (reference.includes(':')) {
      const algorithm = reference.slice(0, reference.indexOf(':'));
      const actual = algorithm === 'sha512' ? `sha512:${createHash('sha512').update(bytes).digest('hex')}` : digest;
      if (actual !== reference) {
        throw new OciError('OCI_DIGEST_MISMATCH', `${what} hashes to ${actual}, not the digest that named it`, { data: { repository, expected: reference, actual } });
      }
    }
    const json = this.#jsonObject(bytes, what) as OciManifest;
    const mediaType = json.mediaType ?? res.headers.get('content-type')?.split(';')[0] ?? 'application/vnd.oci.image.manifest.v1+json';
    return { digest, mediaType, bytes, json };
  }

  /**
   * `GET /v2/<repository>/blobs/<digest>`, checked against the digest and bounded in size.
   * @throws {@link OciError} as {@link RegistryClient.manifest}.
   */
  async blob(repository: string, digest: string, options: RegistryReadOptions = {}): Promise<Uint8Array> {
    const what = `the blob ${digest} of ${repository}`;
    const res = await this.#request({ method: 'GET', url: this.#url(repository, 'blobs', digest, what), scope: pull(repository), ...this.#signal(options) }, what);
    const bytes = await this.#body(res, what, options.maxBytes ?? MAX_BLOB_BYTES);
    const actual = sha256(bytes);
    if (actual !== digest) {
      throw new OciError('OCI_DIGEST_MISMATCH', `${what} hashes to ${actual}`, { data: { repository, expected: digest, actual } });
    }
    return bytes;
  }

  /**
   * `GET /v2/<repository>/tags/list`, following the `Link` header across pages (at most
   * 1000; a list that is longer or whose pages loop fails rather than being read in part).
   * @throws {@link OciError} as {@link RegistryClient.resolve}, and `OCI_TOO_LARGE`.
   */
  async tags(repository: string, options: RegistryCallOptions = {}): Promise<string[]> {
    const tags: string[] = [];
    const what = `the tags of ${repository}`;
    const pages = new Set<string>();
    let url: URL | undefined = new URL(`${this.#base}/v2/${repository}/tags/list`);
    while (url) {
      if (pages.has(url.href)) throw this.#fail('OCI_REGISTRY_ERROR', 'the tag list pages loop (a Link header points back at a page already read)', what);
      if (pages.size >= MAX_TAG_PAGES) throw this.#fail('OCI_TOO_LARGE', `the tag list has more than ${MAX_TAG_PAGES} pages`, what);
      pages.add(url.href);
      const res = await this.#request({ method: 'GET', url, scope: pull(repository), headers: { accept: 'application/json' }, ...this.#signal(options) }, what);
      const body = this.#jsonObject(await this.#body(res, what, MAX_MANIFEST_BYTES), what);
      if (Array.isArray(body['tags'])) tags.push(...body['tags'].filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      url = next ? new URL(next, this.#base) : undefined;
    }
    return tags;
  }

  /**
   * Uploads a blob unless the repository has it already (`HEAD` first, then one monolithic
   * `POST` + `PUT`). Resolves with its digest.
   * @throws {@link OciError} `OCI_DENIED` without push rights, and as {@link RegistryClient.resolve}.
   */
  async pushBlob(repository: string, content: Uint8Array, options: RegistryCallOptions = {}): Promise<OciDescriptor & { existed: boolean }> {
    const digest = sha256(content);
    const descriptor = { mediaType: 'application/octet-stream', digest, size: content.byteLength };
    const what = `the blob ${digest} of ${repository}`;
    const head = await this.#request({ method: 'HEAD', url: this.#url(repository, 'blobs', digest, what), scope: push(repository), ...this.#signal(options) }, what, [404]);
    await head.body?.cancel();
    if (head.ok) return { ...descriptor, existed: true };
    const start = await this.#request({ method: 'POST', url: new URL(`${this.#base}/v2/${repository}/blobs/uploads/`), scope: push(repository), ...this.#signal(options) }, `an upload to ${repository}`);
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location) throw new OciError('OCI_REGISTRY_ERROR', `the registry started an upload to ${repository} without a Location`, { data: { repository } });
    const url = new URL(location, this.#base);
    url.searchParams.set('digest', digest);
    const put = await this.#request(
      { method: 'PUT', url, scope: push(repository), headers: { 'content-type': 'application/octet-stream' }, body: content, ...this.#signal(options) },
      what,
    );
    await put.body?.cancel();
    return { ...descriptor, existed: false };
  }

  /**
   * `PUT /v2/<repository>/manifests/<reference>`; resolves with the manifest's digest.
   * @throws {@link OciError} as {@link RegistryClient.pushBlob}.
   */
  async pushManifest(repository: string, reference: string, mediaType: string, content: Uint8Array, options: RegistryCallOptions = {}): Promise<string> {
    const what = `the manifest ${repository}:${reference}`;
    const res = await this.#request(
      { method: 'PUT', url: this.#url(repository, 'manifests', reference, what), scope: push(repository), headers: { 'content-type': mediaType }, body: content, ...this.#signal(options) },
      what,
    );
    await res.body?.cancel();
    return sha256(content);
  }

  /** The URL of a manifest or blob; a reference that is neither a tag nor a digest (`../x`, `a?b`) is refused, so it cannot reach another path. */
  #url(repository: string, kind: 'manifests' | 'blobs', reference: string, what: string): URL {
    if (!isDigest(reference) && (kind === 'blobs' || !isTag(reference))) {
      throw new OciError('OCI_INVALID_OPTIONS', `${this.registry}: ${JSON.stringify(reference)} is not a ${kind === 'blobs' ? 'digest' : 'tag or digest'} (${what})`, {
        data: { registry: this.registry, repository, reference },
      });
    }
    return new URL(`${this.#base}/v2/${repository}/${kind}/${reference}`);
  }

  /** The digest a registry answered for `reference`: well formed, and the reference itself when that is a digest. */
  #answeredDigest(digest: string, reference: string, what: string): string {
    if (!isDigest(digest)) throw this.#fail('OCI_REGISTRY_ERROR', `answered with a malformed Docker-Content-Digest ${JSON.stringify(digest.slice(0, 80))}`, what);
    if (isDigest(reference) && digest !== reference) {
      throw new OciError('OCI_DIGEST_MISMATCH', `${this.registry}: answered ${digest} for ${what}`, { data: { registry: this.registry, expected: reference, actual: digest } });
    }
    return digest;
  }

  /** `bytes` parsed as a JSON object; anything else is `OCI_REGISTRY_ERROR`, without the text (a parse error quotes it, and it may echo credentials). */
  #jsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.#fail('OCI_REGISTRY_ERROR', 'answered with something that is not a JSON object', what);
    return value as Record<string, unknown>;
  }

  #signal(options: RegistryCallOptions): { signal: AbortSignal } {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    return { signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout };
  }

  /**
   * Sends a request, answering auth challenges, following redirects safely and retrying reads;
   * resolves with a 2xx response (or one whose status is in `allowed`), else throws.
   */
  async #request(req: Request, what: string, allowed: readonly number[] = []): Promise<Response> {
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.#authorized(req, what);
      } catch (error) {
        if (error instanceof OciError) throw error;
        if (req.signal.aborted && !isTimeout(req.signal.reason)) throw req.signal.reason;
        if (idempotent && attempt < this.#o.retries && !isTimeout(error)) {
          await sleep(this.#o.clock, backoff(attempt), req.signal);
          continue;
        }
        throw this.#fail('OCI_UNREACHABLE', describeNetworkError(error, this.#o.timeoutMs), what, { retryable: true });
      }
      if (res.ok || allowed.includes(res.status)) return res;
      if (idempotent && RETRY_STATUSES.has(res.status) && attempt < this.#o.retries) {
        await res.body?.cancel();
        await sleep(this.#o.clock, retryAfter(res, this.#o.clock.now()) ?? backoff(attempt), req.signal);
        continue;
      }
      throw await this.#failure(res, what);
    }
  }

  /** One request with whatever authorization is known, answering up to two challenges. */
  async #authorized(req: Request, what: string): Promise<Response> {
    for (let round = 0; ; round++) {
      const sent = await this.#authorization(req.scope);
      const res = await this.#follow(req, sent?.header);
      if (res.status !== 401 || round >= 2) return res;
      const challenge = parseChallenges(res.headers.get('www-authenticate') ?? '')[0];
      if (!challenge) return res;
      if (!(await this.#answer(challenge, req.scope, sent, round, req.signal, what))) return res;
      await res.body?.cancel();
    }
  }

  /**
   * Sends `req`, following redirects by hand: the `Authorization` header goes only to the
   * registry's own host, and no request (a redirect, or a URL the registry named in `Link` or
   * `Location`) leads from TLS (or from the registry) to plain HTTP elsewhere.
   */
  async #follow(req: Request, authorization: string | undefined): Promise<Response> {
    let url = req.url;
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.#o.insecure && url.host === this.#host)) {
        throw new OciError('OCI_REDIRECT_REFUSED', `${this.registry} pointed to ${url.protocol}//${url.host}; only HTTPS is followed off the registry`, {
          data: { registry: this.registry, to: url.host },
        });
      }
      const toRegistry = url.host === this.#host;
      const headers: Record<string, string> = { ...req.headers };
      if (authorization && toRegistry) headers['authorization'] = authorization;
      const res = await this.#o.fetch(url, {
        method: req.method,
        headers,
        redirect: 'manual',
        signal: req.signal,
        ...(req.body && { body: req.body }),
      });
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (!location) return res;
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new OciError('OCI_REDIRECT_REFUSED', `${this.registry} redirected more than ${MAX_REDIRECTS} times`, { data: { registry: this.registry } });
      url = new URL(location, url);
    }
  }

  /** The Authorization header to send for `scope`, if any is known yet. */
  async #authorization(scope: string): Promise<SentAuth | undefined> {
    const c = this.#o.credentials;
    if (c && 'token' in c) return { header: `Bearer ${c.token}`, kind: 'static' };
    if (this.#basic && c) return { header: basic(c), kind: 'basic' };
    const token = this.#tokens.get(scope);
    if (!token) return undefined;
    try {
      return { header: `Bearer ${await token}`, kind: 'bearer', token };
    } catch {
      return undefined;
    }
  }

  /** Answers a 401 challenge: true once authorization is in place to try again, false to report the 401. */
  async #answer(challenge: Challenge, scope: string, sent: SentAuth | undefined, round: number, signal: AbortSignal, what: string): Promise<boolean> {
    const c = this.#o.credentials;
    if (sent?.kind === 'static' || sent?.kind === 'basic') return false;
    if (challenge.scheme === 'basic') {
      if (!c) return false;
      this.#basic = true;
      return true;
    }
    if (challenge.scheme !== 'bearer') {
      throw this.#fail('OCI_DENIED', `the registry asks for an unsupported auth scheme "${challenge.scheme}"`, what);
    }
    if (sent?.kind === 'bearer') {
      // The token may have expired (they often live 60 s): fetch one new token, once.
      if (this.#tokens.get(scope) === sent.token) this.#tokens.delete(scope);
      if (round >= 1) return false;
    }
    let pending = this.#tokens.get(scope);
    if (!pending) {
      pending = this.#fetchToken(challenge.params, challenge.params['scope'] ?? scope, signal);
      pending.catch(() => undefined);
      this.#tokens.set(scope, pending);
    }
    try {
      await pending;
      return true;
    } catch (error) {
      if (this.#tokens.get(scope) === pending) this.#tokens.delete(scope);
      throw error;
    }
  }

  /**
   * Asks the token service the registry named for a token. Credentials go with the request
   * over TLS, or over plain HTTP only to a host the caller marked insecure (the registry itself
   * or one of `insecureHosts`); otherwise the token is asked for anonymously.
   */
  async #fetchToken(params: Record<string, string>, scope: string, signal: AbortSignal): Promise<string> {
    const realm = params['realm'];
    if (!realm) throw this.#fail('OCI_DENIED', 'the registry asked for a bearer token without naming a token service (no realm)');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.#fail('OCI_DENIED', 'the registry named a token service that is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw this.#fail('OCI_DENIED', 'the registry named a token service that is not HTTP(S)');
    }
    if (params['service']) url.searchParams.set('service', params['service']);
    for (const s of scope.split(' ')) if (s) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    const c = this.#o.credentials;
    const mayCarryCredentials = url.protocol === 'https:' || (this.#o.insecure && url.host === this.#host) || this.#o.insecureHosts.includes(url.host);
    if (c && 'username' in c && mayCarryCredentials) headers['authorization'] = basic(c);
    let res: Response;
    try {
      res = await this.#o.fetch(url, { headers, signal, redirect: 'error' });
    } catch (error) {
      if (signal.aborted && !isTimeout(signal.reason)) throw signal.reason;
      throw this.#fail('OCI_UNREACHABLE', `its token service (${url.host}) failed: ${describeNetworkError(error, this.#o.timeoutMs)}`, undefined, { retryable: true });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw this.#fail(
        'OCI_DENIED',
        c ? `the token service rejected the configured credentials (HTTP ${res.status})` : `the token service refused an anonymous token (HTTP ${res.status}); configure credentials`,
        undefined,
        { status: res.status },
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.#fail('OCI_REGISTRY_ERROR', `the token service answered HTTP ${res.status}`, undefined, { status: res.status, retryable: res.status >= 500 || res.status === 429 });
    }
    const body = this.#jsonObject(await this.#body(res, 'a token', 1024 * 1024), `its token service ${url.host}`);
    const token = typeof body['token'] === 'string' ? body['token'] : typeof body['access_token'] === 'string' ? body['access_token'] : undefined;
    if (!token) throw this.#fail('OCI_DENIED', 'the token service answered without a token');
    return token;
  }

  async #body(res: Response, what: string, maxBytes: number): Promise<Uint8Array> {
    try {
      return await readBounded(res, maxBytes, what);
    } catch (error) {
      if (error instanceof OciError) throw error;
      throw this.#fail('OCI_UNREACHABLE', `the registry stopped sending: ${describeNetworkError(error, this.#o.timeoutMs)}`, what, { retryable: true });
    }
  }

  /** The typed error for a non-2xx answer; the registry's own text is not kept (it may echo input). */
  async #failure(res: Response, what: string): Promise<OciError> {
    await res.body?.cancel();
    const status = { status: res.status };
    if (res.status === 404) return this.#fail('OCI_NOT_FOUND', 'not found (HTTP 404)', what, status);
    if (res.status === 401) {
      const reason = this.#o.credentials
        ? 'the registry rejected the configured credentials (HTTP 401)'
        : 'the registry requires credentials and none are configured for it (HTTP 401)';
      return this.#fail('OCI_DENIED', reason, what, status);
    }
    if (res.status === 403) return this.#fail('OCI_DENIED', 'the credentials have no access (HTTP 403)', what, status);
    return this.#fail('OCI_REGISTRY_ERROR', `the registry answered HTTP ${res.status}`, what, { ...status, retryable: res.status >= 500 || res.status === 429 });
  }

  /**
   * An error saying `<registry>: <reason> (<what>)`; `data.reason` keeps the reason alone, for
   * callers that group failures by registry (the image gate).
   */
  #fail(code: OciErrorCode, reason: string, what?: string, data: Record<string, unknown> = {}): OciError {
    return new OciError(code, `${this.registry}: ${reason}${what ? ` (${what})` : ''}`, { data: { registry: this.registry, reason, ...data } });
  }
}

/** `sha256:<hex>` of `content`. */
export function sha256(content: Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function pull(repository: string): string {
  return `repository:${repository}:pull`;
}

function push(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function basic(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function withMediaType(resolved: ResolvedManifest, res: Response): ResolvedManifest {
  const mediaType = res.headers.get('content-type')?.split(';')[0];
  return mediaType ? { ...resolved, mediaType } : resolved;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError'));
}

function backoff(attempt: number): number {
  return 250 * 2 ** attempt;
}

/** `Retry-After` in ms (seconds or an HTTP date), capped at 10 s so a pass keeps its deadline. */
function retryAfter(res: Response, now: number): number | undefined {
  const value = res.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 10_000) : undefined;
}
