/**
 * A minimal OCI distribution client: just enough to ask whether a manifest exists, with the
 * registry auth flows (anonymous, Basic, Bearer token service). Internal to the image gate.
 */

/** Credentials for one registry: a username and password (or access token as password), or a ready bearer token. */
export type RegistryCredentials = { username: string; password: string } | { token: string };

/** What a manifest lookup found. Reasons never contain credentials. */
export type ManifestLookup =
  | { status: 'present'; digest?: string }
  | { status: 'missing' }
  | { status: 'denied'; reason: string }
  | { status: 'error'; reason: string; unreachable: boolean };

/** Media types a runtime may pull: OCI index and manifest, Docker manifest list and v2 (v1 for old images). */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
].join(', ');

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export interface RegistryClientOptions {
  registry: string;
  fetch: typeof fetch;
  credentials?: RegistryCredentials;
  /** Talk plain HTTP. */
  insecure: boolean;
  timeoutMs: number;
}

/** One registry's client; keeps tokens it was given for the life of the object. */
export class RegistryClient {
  readonly #o: RegistryClientOptions;
  readonly #base: string;
  readonly #tokens = new Map<string, Promise<string>>();
  #basic = false;

  constructor(options: RegistryClientOptions) {
    this.#o = options;
    this.#base = `${options.insecure ? 'http' : 'https'}://${options.registry}`;
  }

  /** `HEAD /v2/<repository>/manifests/<reference>`, authenticating as the registry asks. */
  async lookupManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestLookup> {
    const url = `${this.#base}/v2/${repository}/manifests/${reference}`;
    const scope = `repository:${repository}:pull`;
    let res: Response;
    try {
      for (let attempt = 0; ; attempt++) {
        const sent = await this.#authorization(scope);
        res = await this.#request(url, sent?.header, signal);
        if (res.status !== 401 || attempt >= 2) break;
        const challenge = parseChallenges(res.headers.get('www-authenticate') ?? '')[0];
        if (!challenge) return { status: 'denied', reason: 'the registry asked for credentials without saying how (no WWW-Authenticate header)' };
        const answer = await this.#answer(challenge, scope, sent, attempt, signal);
        if (answer === 'give-up') break;
        if (answer !== 'retry') return answer;
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return { status: 'error', reason: describeNetworkError(error, this.#o.timeoutMs), unreachable: true };
    }
    if (res.ok) {
      const digest = res.headers.get('docker-content-digest');
      return digest ? { status: 'present', digest } : { status: 'present' };
    }
    if (res.status === 404) return { status: 'missing' };
    if (res.status === 401) {
      return {
        status: 'denied',
        reason: this.#o.credentials ? 'the registry rejected the configured credentials (HTTP 401)' : 'the registry requires credentials and none are configured for it (HTTP 401)',
      };
    }
    if (res.status === 403) return { status: 'denied', reason: 'the credentials have no pull access (HTTP 403)' };
    return { status: 'error', reason: `the registry answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, unreachable: false };
  }

  async #request(url: string, authorization: string | undefined, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: MANIFEST_ACCEPT };
    if (authorization) headers['authorization'] = authorization;
    let res = await this.#o.fetch(url, { method: 'HEAD', headers, signal: this.#signal(signal), redirect: 'follow' });
    if (res.status === 405 || res.status === 501) {
      // A few registries do not implement HEAD on manifests; GET answers the same question.
      res = await this.#o.fetch(url, { method: 'GET', headers, signal: this.#signal(signal), redirect: 'follow' });
    }
    await res.body?.cancel();
    return res;
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

  /** Answers a 401 challenge: `retry` once authorization is in place, `give-up` to report the 401, or a final lookup. */
  async #answer(challenge: Challenge, scope: string, sent: SentAuth | undefined, attempt: number, signal?: AbortSignal): Promise<'retry' | 'give-up' | ManifestLookup> {
    const c = this.#o.credentials;
    if (sent?.kind === 'static' || sent?.kind === 'basic') return 'give-up';
    if (challenge.scheme === 'basic') {
      if (!c) return 'give-up';
      this.#basic = true;
      return 'retry';
    }
    if (challenge.scheme !== 'bearer') return { status: 'denied', reason: `the registry asks for an unsupported auth scheme "${challenge.scheme}"` };
    if (sent?.kind === 'bearer') {
      // The token may have expired (they often live 60 s): fetch one new token, once.
      if (this.#tokens.get(scope) === sent.token) this.#tokens.delete(scope);
      if (attempt >= 1) return 'give-up';
    }
    let pending = this.#tokens.get(scope);
    if (!pending) {
      pending = this.#fetchToken(challenge.params, challenge.params['scope'] ?? scope, signal);
      pending.catch(() => undefined);
      this.#tokens.set(scope, pending);
    }
    try {
      await pending;
      return 'retry';
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (this.#tokens.get(scope) === pending) this.#tokens.delete(scope);
      if (error instanceof TokenDenied) return { status: 'denied', reason: error.message };
      return { status: 'error', reason: `its token service failed: ${describeNetworkError(error, this.#o.timeoutMs)}`, unreachable: true };
    }
  }

  async #fetchToken(params: Record<string, string>, scope: string, signal?: AbortSignal): Promise<string> {
    const realm = params['realm'];
    if (!realm) throw new TokenDenied('the registry asked for a bearer token without naming a token service (no realm)');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new TokenDenied('the registry named a token service that is not a URL');
    }
    if (params['service']) url.searchParams.set('service', params['service']);
    for (const s of scope.split(' ')) if (s) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    const c = this.#o.credentials;
    // Credentials go to the token service only over TLS, unless this registry was declared insecure.
    if (c && 'username' in c && (url.protocol === 'https:' || this.#o.insecure)) headers['authorization'] = basic(c);
    const res = await this.#o.fetch(url, { headers, signal: this.#signal(signal) });
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new TokenDenied(
        c ? `the token service rejected the configured credentials (HTTP ${res.status})` : `the token service refused an anonymous token (HTTP ${res.status}); configure credentials`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`the token service answered HTTP ${res.status}`);
    }
    const body = (await res.json()) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new TokenDenied('the token service answered without a token');
    return token;
  }

  #signal(signal?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }
}

class TokenDenied extends Error {}

interface SentAuth {
  header: string;
  kind: 'static' | 'basic' | 'bearer';
  token?: Promise<string>;
}

function basic(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme and
 * `key=value` or `key="quoted value"` parameters. Scheme names are lowercased.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && !/[\s,="]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const word = token();
    if (!word) {
      i++;
      continue;
    }
    skip(/\s/);
    if (header[i] !== '=') {
      challenges.push({ scheme: word.toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(/\s/);
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\') i++;
        value += header[i] ?? '';
        i++;
      }
      i++;
    } else value = token();
    const current = challenges.at(-1);
    if (current) current.params[word.toLowerCase()] = value;
  }
  return challenges;
}

/** A network failure in a few words: the system error code and address, never headers. */
export function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError'))) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') {
    const message = typeof cause.message === 'string' ? (cause.message.split('\n')[0] ?? '').trim() : '';
    if (cause.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/.test(message)) {
      return 'TLS handshake failed: it seems to speak plain HTTP; list it in insecureRegistries if that is intended';
    }
    if (cause.code.startsWith('ERR_SSL') || cause.code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED/.test(cause.code)) return `TLS failed: ${cause.code}`;
    return message.length > 0 && message.length < 200 ? message : cause.code;
  }
  if (cause instanceof AggregateError) return cause.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  return error instanceof Error ? error.message : String(error);
}
