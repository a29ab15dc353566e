import type { Gate, GateResult, KubeObject, ObjectRef } from '@converge/core';
import picomatch from 'picomatch';
import { credentialsFor, type RegistryCredentials } from './credentials.js';
import { formatImageReference, parseImageReference, type ImageReference } from './image-reference.js';
import { imageUsages } from './images-of.js';
import { OciError } from './oci-error.js';
import { RegistryClient } from './registry-client.js';

/** Options of {@link imagesExist}. */
export interface ImagesExistOptions {
  /** The gate's name in events and errors. @default 'images-exist' */
  name?: string;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Credentials per registry host (with port), e.g. `{ 'ghcr.io': { username: 'bot', password: token } }`.
   * `{ username, password }` is used for Basic auth and to obtain bearer tokens from the
   * registry's token service; `{ token }` is sent as a ready `Bearer` token. Docker Hub may be
   * keyed `docker.io`, `index.docker.io` or `registry-1.docker.io`. Credentials never appear in
   * messages or events.
   * @default {} (anonymous)
   */
  auth?: Record<string, RegistryCredentials>;
  /**
   * Registry hosts (with port) to reach over plain `http://` instead of `https://`. Credentials
   * cross plain HTTP only to these hosts: a token service a registry names over `http://` gets
   * them only when it is listed here too.
   * @default []
   */
  insecureRegistries?: readonly string[];
  /**
   * Globs of images not to check, matched against the image as written and its fully qualified
   * form (`docker.io/library/nginx:1.27`); `*` stops at `/`, `**` does not.
   * @default []
   */
  ignore?: readonly string[];
  /** How many manifests to look up at once. @default 4 */
  concurrency?: number;
  /** Time allowed for each HTTP request, in ms. @default 10000 */
  timeoutMs?: number;
}

/** One image that blocked the gate, as reported in `GateError.data`. */
export interface BlockedImage {
  image: string;
  usedBy: ObjectRef[];
  /** The registry asked, absent for references that could not be parsed. */
  registry?: string;
  reason: 'missing' | 'denied' | 'unreachable' | 'error' | 'invalid';
  /** Details, without credentials. */
  detail?: string;
}

interface Check {
  ref: ImageReference;
  images: { image: string; usedBy: ObjectRef[] }[];
}

/**
 * A gate that holds a pass until every container image the desired state names exists in its
 * registry: "don't deploy a commit whose CI has not pushed its image yet". For each distinct
 * image it sends `HEAD /v2/<repository>/manifests/<tag or digest>` (digest-pinned references
 * are checked by digest; a reference with neither means `latest`), answering `Basic` and
 * `Bearer` (token service) challenges with the configured credentials. A missing image, a
 * refused login or an unreachable registry blocks the pass; the reconciler retries with backoff
 * and applies nothing meanwhile.
 *
 * @example
 * ```ts
 * createReconciler({
 *   name: 'web', source, render: yamlFiles(), sink,
 *   gates: [imagesExist({ auth: { 'ghcr.io': { username: 'ci', password: process.env.GHCR_TOKEN! } } })],
 * });
 * // pass.failed: gate images-exist: image ghcr.io/acme/api:1.4.0 not found — has CI pushed it yet?
 * ```
 */
export function imagesExist(options: ImagesExistOptions = {}): Gate {
  const name = options.name ?? 'images-exist';
  const doFetch = options.fetch ?? globalThis.fetch;
  const auth = options.auth ?? {};
  const insecure = new Set(options.insecureRegistries ?? []);
  const ignored = (options.ignore ?? []).length > 0 ? picomatch([...options.ignore!], { dot: true }) : () => false;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const timeoutMs = options.timeoutMs ?? 10_000;

  return {
    name,
    async check(objects: readonly KubeObject[], ctx: { revision: string; signal?: AbortSignal }): Promise<GateResult> {
      const blocked: BlockedImage[] = [];
      const checks = new Map<string, Check>();
      for (const usage of imageUsages(objects)) {
        let ref: ImageReference;
        try {
          ref = parseImageReference(usage.image);
        } catch (error) {
          if (ignored(usage.image)) continue;
          blocked.push({ ...usage, reason: 'invalid', detail: (error as Error).message });
          continue;
        }
        const qualified = formatImageReference(ref);
        if (ignored(usage.image) || ignored(qualified)) continue;
        const key = `${ref.registry}/${ref.repository}@${ref.digest ?? ref.tag ?? 'latest'}`;
        const check = checks.get(key) ?? { ref, images: [] };
        check.images.push(usage);
        checks.set(key, check);
      }

      const clients = new Map<string, RegistryClient>();
      const down = new Map<string, string>();
      const clientFor = (registry: string) => {
        let client = clients.get(registry);
        if (!client) {
          const credentials = credentialsFor(auth, registry);
          client = new RegistryClient({ registry, fetch: doFetch, insecure: insecure.has(registry), insecureHosts: [...insecure], timeoutMs, retries: 0, ...(credentials && { credentials }) });
          clients.set(registry, client);
        }
        return client;
      };

      await eachLimit([...checks.values()], concurrency, async ({ ref, images }) => {
        // One unreachable registry is reported once instead of timing out for each of its images.
        const known = down.get(ref.registry);
        let failure: { reason: BlockedImage['reason']; detail?: string };
        if (known) failure = { reason: 'unreachable', detail: known };
        else {
          try {
            await clientFor(ref.registry).resolve(ref.repository, ref.digest ?? ref.tag ?? 'latest', ctx.signal ? { signal: ctx.signal } : {});
            return;
          } catch (error) {
            if (!(error instanceof OciError)) throw error;
            failure = blockedBy(error);
          }
        }
        if (failure.reason === 'unreachable') down.set(ref.registry, failure.detail!);
        for (const usage of images) blocked.push({ ...usage, registry: ref.registry, ...failure });
      });

      if (blocked.length === 0) return { ok: true };
      const order = new Map(imageUsages(objects).map((u, i) => [u.image, i]));
      blocked.sort((a, b) => (order.get(a.image) ?? 0) - (order.get(b.image) ?? 0));
      return { ok: false, message: describe(blocked), data: { images: blocked } };
    },
  };
}

/** Why a lookup blocked, for the gate's report. */
function blockedBy(error: OciError): { reason: BlockedImage['reason']; detail?: string } {
  switch (error.code) {
    case 'OCI_NOT_FOUND':
      return { reason: 'missing' };
    case 'OCI_DENIED':
      return { reason: 'denied', detail: reasonOf(error) };
    case 'OCI_UNREACHABLE':
      return { reason: 'unreachable', detail: reasonOf(error) };
    default:
      return { reason: 'error', detail: reasonOf(error) };
  }
}

function reasonOf(error: OciError): string {
  return typeof error.data['reason'] === 'string' ? error.data['reason'] : error.message;
}

function describe(blocked: readonly BlockedImage[]): string {
  const parts: string[] = [];
  const missing = blocked.filter((b) => b.reason === 'missing').map((b) => b.image);
  if (missing.length === 1) parts.push(`image ${missing[0]} not found — has CI pushed it yet?`);
  else if (missing.length > 1) parts.push(`images ${missing.join(', ')} not found — has CI pushed them yet?`);

  const byRegistry = new Map<string, BlockedImage[]>();
  for (const b of blocked) {
    if (b.reason === 'missing' || b.reason === 'invalid') continue;
    const key = `${b.reason}\u0000${b.registry}\u0000${b.detail}`;
    byRegistry.set(key, [...(byRegistry.get(key) ?? []), b]);
  }
  for (const group of byRegistry.values()) {
    const { reason, registry, detail } = group[0]!;
    const images = group.map((b) => b.image).join(', ');
    if (reason === 'unreachable') parts.push(`registry ${registry} is unreachable (${detail}); could not check ${images}`);
    else if (reason === 'denied') parts.push(`registry ${registry} refused access to ${images}: ${detail}`);
    else parts.push(`registry ${registry} failed to answer for ${images}: ${detail}`);
  }
  for (const b of blocked.filter((x) => x.reason === 'invalid')) parts.push(b.detail ?? `invalid image reference "${b.image}"`);
  return parts.join('; ');
}

async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
