import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OciError } from './oci-error.js';

/**
 * Credentials for one registry: a username and password (or an access token as the password),
 * used for HTTP Basic and to obtain bearer tokens from the registry's token service; or a ready
 * bearer token, sent as is.
 */
export type RegistryCredentials = { username: string; password: string } | { token: string };

/** The host Docker Hub's familiar name `docker.io` stands for. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The registry host a credentials key names, as Docker reads `config.json` keys: the scheme and
 * any path are dropped (`https://index.docker.io/v1/` is Docker Hub), and Docker Hub's aliases
 * are {@link DOCKER_HUB_REGISTRY}.
 */
export function registryHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB_REGISTRY : host;
}

/**
 * The credentials for `registry` in a map keyed by registry host (keys may be written as in a
 * Docker `config.json`, e.g. `docker.io` or `https://index.docker.io/v1/`), or `undefined`.
 */
export function credentialsFor(auth: Readonly<Record<string, RegistryCredentials>> | undefined, registry: string): RegistryCredentials | undefined {
  if (!auth) return undefined;
  const wanted = registryHost(registry);
  for (const [key, credentials] of Object.entries(auth)) if (registryHost(key) === wanted) return credentials;
  return undefined;
}

/** Options of {@link dockerConfigCredentials}. */
export interface DockerConfigOptions {
  /** The file to read. @default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` */
  path?: string;
  /** The file's content, instead of reading one (e.g. a Kubernetes `.dockerconfigjson` Secret). */
  json?: string;
  /** The environment `DOCKER_CONFIG` is read from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

interface DockerAuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

/**
 * Reads registry credentials from a Docker `config.json` (what `docker login` and
 * `oras login` write, and what `kubernetes.io/dockerconfigjson` Secrets hold): `auths` entries
 * with `auth` (base64 `user:password`), `username`/`password`, or `registrytoken` (a bearer
 * token). Returns them keyed by registry host, ready for `auth` options. A missing default file
 * is an empty map; a file that relies on a credential helper (`credsStore`, `credHelpers`) or an
 * OAuth refresh token (`identitytoken`) for a registry is `OCI_CREDENTIALS`, since those run
 * programs or flows this package does not. No secret appears in any message.
 *
 * @example
 * ```ts
 * const source = ociSource({ url: 'oci://ghcr.io/acme/manifests', ref: { tag: 'main' }, auth: dockerConfigCredentials() });
 * ```
 */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): Record<string, RegistryCredentials> {
  const env = options.env ?? process.env;
  const path = options.path ?? join(env['DOCKER_CONFIG'] || join(homedir(), '.docker'), 'config.json');
  let text = options.json;
  if (text === undefined) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.path === undefined) return {};
      throw new OciError('OCI_CREDENTIALS', `cannot read the Docker config ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { data: { path } });
    }
  }
  const where = options.json !== undefined ? 'the Docker config given' : path;
  let config: { auths?: Record<string, DockerAuthEntry>; credsStore?: unknown; credHelpers?: Record<string, unknown> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch {
    throw new OciError('OCI_CREDENTIALS', `${where} is not JSON`);
  }
  if (typeof config !== 'object' || config === null) throw new OciError('OCI_CREDENTIALS', `${where} is not a JSON object`);
  const result: Record<string, RegistryCredentials> = {};
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const host = registryHost(key);
    if (typeof entry !== 'object' || entry === null) throw new OciError('OCI_CREDENTIALS', `${where}: the entry for ${host} is not an object`, { data: { registry: host } });
    if (typeof entry.registrytoken === 'string' && entry.registrytoken) {
      result[host] = { token: entry.registrytoken };
    } else if (typeof entry.auth === 'string' && entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new OciError('OCI_CREDENTIALS', `${where}: the "auth" of ${host} is not base64 of user:password`, { data: { registry: host } });
      result[host] = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      result[host] = { username: entry.username, password: entry.password };
    } else if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
      throw new OciError('OCI_CREDENTIALS', `${where}: ${host} has an identity token (OAuth refresh token), which is not supported; use a username and password or access token`, {
        data: { registry: host },
      });
    }
  }
  const helpers = [...Object.keys(config.credHelpers ?? {}).map(registryHost), ...(typeof config.credsStore === 'string' ? ['*'] : [])];
  if (helpers.length > 0 && Object.keys(result).length === 0) {
    throw new OciError(
      'OCI_CREDENTIALS',
      `${where} keeps its credentials in a credential helper (${typeof config.credsStore === 'string' ? `credsStore "${config.credsStore}"` : `credHelpers for ${helpers.join(', ')}`}); ` +
        'Converge does not run helper programs: pass the credentials in `auth`, or write them to a config file with `auths`',
      { data: { helpers } },
    );
  }
  return result;
}

/**
 * How a source or push authenticates to its one registry: credentials as they are, or read from
 * a Docker `config.json` ({@link dockerConfigCredentials}) and picked for the registry.
 */
export type OciAuth = RegistryCredentials | { dockerConfig: DockerConfigOptions };

/** The credentials `auth` gives for `registry`, if any. */
export function resolveAuth(auth: OciAuth | undefined, registry: string): RegistryCredentials | undefined {
  if (auth === undefined) return undefined;
  if ('dockerConfig' in auth) return credentialsFor(dockerConfigCredentials(auth.dockerConfig), registry);
  return auth;
}
