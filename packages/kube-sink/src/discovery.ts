import { ConvergeError, raceAbort } from '@converge/core';
import { KubeHttpError, KubeUnreachableError, UnknownKindError } from './errors.js';
import { toKubeError } from './internal/to-kube-error.js';
import type { KubeTransport } from './transport.js';

/** How one kind is served: its REST resource and whether it lives in a namespace. */
export interface ResourceMapping {
  /** The API group, `''` for the core group. */
  group: string;
  /** The version the resource was found in, e.g. `v1`. */
  version: string;
  /** The kind, e.g. `Deployment`. */
  kind: string;
  /** The plural resource name used in URLs, e.g. `deployments`. */
  resource: string;
  /** Whether objects of this kind live in a namespace. */
  namespaced: boolean;
}

/** Maps kinds to REST resources, with a cache that refreshes when a kind is not found. */
export interface Discovery {
  /**
   * The mapping for `kind` in `group`. With `version`, that version is used; without it, the
   * group's preferred version, then any version serving the kind. Rejects with
   * {@link UnknownKindError} if the server does not serve the kind even after refreshing.
   */
  resolve(gvk: { group: string; version?: string | undefined; kind: string }, options?: { signal?: AbortSignal | undefined }): Promise<ResourceMapping>;
  /** Forgets what is cached for `group` (all groups when omitted), e.g. after a CRD was applied. */
  invalidate(group?: string): void;
  /**
   * Every resource the server serves that can be listed and deleted, one mapping per kind in
   * its group's preferred version; with `namespaced: true` only namespaced ones (what deleting
   * a Namespace deletes).
   */
  deletableResources(options?: { signal?: AbortSignal | undefined; namespaced?: boolean }): Promise<ResourceMapping[]>;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
}
interface ApiResourceList {
  resources: ApiResource[];
}
interface ApiGroupList {
  groups: { name: string; versions: { version: string }[]; preferredVersion?: { version: string } }[];
}
interface GroupInfo {
  preferred: string | undefined;
  versions: string[];
}

/**
 * Waits on a shared discovery request (`load` returns the one in flight or starts one). When it
 * fails with a retryable error that came before its timeout (5xx, 429, a refused or reset
 * connection), the caller tries once more on a fresh shared request instead of failing with it —
 * one new request for all the callers of the failed one, which share it too. This is what
 * client-go's memory-cached discovery does (`memcache.go`): a transient failure is not kept, and
 * the next caller's attempt sends the request again at once, without backoff; a caller that
 * waited behind another's failed attempt makes its own. A request that timed out is not sent
 * again (client-go's `isTransientError` does not count a timeout either): its time is spent, so
 * its callers fail after at most one request timeout instead of waiting a second one. A second
 * failure is the caller's too: its pass fails and is retried by its own retry policy.
 */
async function sharedAttempts<T>(load: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  try {
    return await raceAbort(load(), signal);
  } catch (error) {
    if (signal?.aborted || !(error instanceof ConvergeError && error.retryable) || (error instanceof KubeUnreachableError && error.data.timedOut)) throw error;
    return raceAbort(load(), signal);
  }
}

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/**
 * Discovery on the API server's group/version documents, loaded lazily: resolving a kind
 * costs one request for its group-version the first time (plus one for the group list when
 * no version is given) and none after. A miss reloads once before failing, so kinds added by
 * a new CRD are found.
 */
export function createDiscovery(transport: KubeTransport): Discovery {
  const resourceLists = new Map<string, Promise<ApiResourceList | undefined>>();
  let groups: Promise<Map<string, GroupInfo>> | undefined;

  // The requests are shared by every caller, so none carries one caller's signal (a pass
  // cancelled during a hand-over must not fail the others); each caller stops waiting on its own.
  function loadGroups(signal?: AbortSignal): Promise<Map<string, GroupInfo>> {
    return sharedAttempts(() => {
      groups ??= transport
        .request<ApiGroupList>({ method: 'GET', path: '/apis' })
        .then((list) => {
          const map = new Map<string, GroupInfo>([['', { preferred: 'v1', versions: ['v1'] }]]);
          for (const g of list.groups ?? []) {
            map.set(g.name, { preferred: g.preferredVersion?.version, versions: g.versions.map((v) => v.version) });
          }
          return map;
        })
        .catch((err: unknown) => {
          groups = undefined;
          throw toKubeError(err, { verb: 'get', resource: 'API groups' });
        });
      return groups;
    }, signal);
  }

  function loadResources(group: string, version: string, signal?: AbortSignal): Promise<ApiResourceList | undefined> {
    const key = `${group}/${version}`;
    return sharedAttempts(() => {
      let list = resourceLists.get(key);
      if (!list) {
        list = transport
          .request<ApiResourceList>({ method: 'GET', path: groupVersionPath(group, version) })
          .catch((err: unknown) => {
            if (err instanceof KubeHttpError && err.status === 404) return undefined;
            resourceLists.delete(key);
            throw toKubeError(err, { verb: 'get', resource: `API ${key}` });
          });
        resourceLists.set(key, list);
      }
      return list;
    }, signal);
  }

  async function find(group: string, version: string, kind: string, signal?: AbortSignal): Promise<ResourceMapping | undefined> {
    const list = await loadResources(group, version, signal);
    // Subresources (`deployments/status`) share the kind; the main resource has no slash.
    const r = list?.resources.find((x) => x.kind === kind && !x.name.includes('/'));
    return r && { group, version, kind, resource: r.name, namespaced: r.namespaced };
  }

  async function lookup(group: string, version: string | undefined, kind: string, signal?: AbortSignal) {
    if (version) return find(group, version, kind, signal);
    const info = (await loadGroups(signal)).get(group);
    if (!info) return undefined;
    const order = [...new Set([info.preferred, ...info.versions].filter((v): v is string => !!v))];
    for (const v of order) {
      const hit = await find(group, v, kind, signal);
      if (hit) return hit;
    }
    return undefined;
  }

  const invalidate = (group?: string): void => {
    groups = undefined;
    for (const key of [...resourceLists.keys()]) if (group === undefined || key.startsWith(`${group}/`)) resourceLists.delete(key);
  };

  return {
    async resolve({ group, version, kind }, options = {}) {
      const hit = await lookup(group, version, kind, options.signal);
      if (hit) return hit;
      invalidate(group);
      const retry = await lookup(group, version, kind, options.signal);
      if (retry) return retry;
      const apiVersion = version ? (group ? `${group}/${version}` : version) : undefined;
      const name = apiVersion ? `${kind} (${apiVersion})` : group ? `${kind}.${group}` : kind;
      const data: { group: string; kind: string; apiVersion?: string } = { group, kind };
      if (apiVersion) data.apiVersion = apiVersion;
      return Promise.reject(
        new UnknownKindError(
          `the API server does not serve ${name}; install its CustomResourceDefinition first or fix the apiVersion`,
          data,
        ),
      );
    },
    invalidate,
    async deletableResources(options = {}) {
      const out: ResourceMapping[] = [];
      for (const [group, info] of await loadGroups(options.signal)) {
        const version = info.preferred ?? info.versions[0];
        if (!version) continue;
        const list = await loadResources(group, version, options.signal);
        for (const r of list?.resources ?? []) {
          if ((options.namespaced && !r.namespaced) || r.name.includes('/') || !r.verbs?.includes('list') || !r.verbs.includes('delete')) continue;
          out.push({ group, version, kind: r.kind, resource: r.name, namespaced: r.namespaced });
        }
      }
      return out;
    },
  };
}
