import type { KubeConfig } from '@kubernetes/client-node';
import { ConvergeError, type ObjectRef } from '@converge/core';
import { KubeHttpError } from './errors.js';
import { toKubeError } from './internal/to-kube-error.js';
import { createTransport, type KubeTransport } from './transport.js';

/** A `coordination.k8s.io/v1` Lease, as far as leader election and shard membership read it. */
export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: LeaseSpec;
}

/** The fields of a Lease's `spec` that client-go's resource lock uses, with the same meaning. */
export interface LeaseSpec {
  /** Who holds the lease; empty or absent when released. */
  holderIdentity?: string;
  /** How long, in seconds, others wait after seeing the last renewal before taking over. */
  leaseDurationSeconds?: number;
  /** When the current holder acquired it (RFC 3339 with microseconds). */
  acquireTime?: string;
  /** When the holder last renewed it. */
  renewTime?: string;
  /** How many times the holder changed. */
  leaseTransitions?: number;
}

/** Timing shared by leader election and shard membership; client-go's names and defaults. */
export interface LeaseTiming {
  /**
   * How long a non-holder waits, after it last saw the lease change, before it may take the
   * lease over. Measured on the observer's own clock from when it saw the change, never from
   * the timestamps in the lease, so clocks of different machines need not agree.
   * @default 15000
   */
  leaseDurationMs?: number;
  /**
   * How long the holder keeps trying to renew before it gives up and stops writing. Must be
   * shorter than `leaseDurationMs`: the gap is the margin in which a holder that could not
   * renew has stopped before anyone else may take over.
   * @default 10000
   */
  renewDeadlineMs?: number;
  /**
   * Time between attempts to acquire or renew (acquire attempts get up to 1.2× this as random
   * jitter, as client-go's).
   * @default 2000
   */
  retryPeriodMs?: number;
}

/** How a Lease is reached: a KubeConfig (a transport is made and closed with the user), or a transport to share. */
export type LeaseConnection = { kubeConfig: KubeConfig; transport?: never } | { transport: KubeTransport; kubeConfig?: never };

/** Options given to leader election or shard membership are inconsistent; the message says which. */
export class LeaseOptionsError extends ConvergeError {
  declare readonly code: 'LEASE_OPTIONS_INVALID';
  constructor(message: string) {
    super('LEASE_OPTIONS_INVALID', message);
  }
}

/** The transport for a {@link LeaseConnection}, and whether the caller owns (must close) it. */
export function leaseTransport(connection: LeaseConnection): { transport: KubeTransport; owned: boolean } {
  if (connection.transport) return { transport: connection.transport, owned: false };
  return { transport: createTransport(connection.kubeConfig), owned: true };
}

/** Defaults resolved and checked as client-go checks them (leaseDuration > renewDeadline > 1.2 × retryPeriod). */
export function resolveLeaseTiming(t: LeaseTiming): Required<LeaseTiming> {
  const timing = { leaseDurationMs: t.leaseDurationMs ?? 15_000, renewDeadlineMs: t.renewDeadlineMs ?? 10_000, retryPeriodMs: t.retryPeriodMs ?? 2000 };
  if (!(timing.leaseDurationMs > timing.renewDeadlineMs)) {
    throw new LeaseOptionsError(`leaseDurationMs (${timing.leaseDurationMs}) must be greater than renewDeadlineMs (${timing.renewDeadlineMs}): the gap is what keeps two holders apart`);
  }
  if (!(timing.renewDeadlineMs > 1.2 * timing.retryPeriodMs) || timing.retryPeriodMs <= 0) {
    throw new LeaseOptionsError(`renewDeadlineMs (${timing.renewDeadlineMs}) must be greater than 1.2 × retryPeriodMs (${timing.retryPeriodMs}), and retryPeriodMs positive`);
  }
  return timing;
}

/** A time as a Lease's MicroTime: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const base = (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
const refOfLease = (namespace: string, name: string): ObjectRef => ({ group: 'coordination.k8s.io', kind: 'Lease', namespace, name });

/** The outcome of a write that may lose an optimistic-concurrency race. */
export type LeaseWrite = { ok: true; lease: Lease } | { ok: false; conflict: true };

/** Reads, creates and updates Leases through the one Kubernetes transport, with resourceVersion preconditions. */
export class LeaseClient {
  constructor(private readonly transport: KubeTransport) {}

  /** The Lease, or `undefined` if it does not exist. */
  async get(namespace: string, name: string, signal?: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.transport.request<Lease>({ method: 'GET', path: `${base(namespace)}/${encodeURIComponent(name)}`, signal });
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) return undefined;
      throw toKubeError(err, { ref: refOfLease(namespace, name), verb: 'get', resource: 'leases' });
    }
  }

  /** Leases matching a label selector; a quorum read (no resourceVersion), so it sees every write that finished before it. */
  async list(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<Lease[]> {
    try {
      const list = await this.transport.request<{ items?: Lease[] }>({ method: 'GET', path: base(namespace), query: { labelSelector }, signal });
      return list.items ?? [];
    } catch (err) {
      throw toKubeError(err, { verb: 'list', resource: 'leases' });
    }
  }

  /** Creates the Lease; `conflict` if it already exists (someone else created it first). */
  async create(lease: Lease, signal?: AbortSignal): Promise<LeaseWrite> {
    const { namespace, name } = lease.metadata;
    try {
      return { ok: true, lease: await this.transport.request<Lease>({ method: 'POST', path: base(namespace), body: lease, signal }) };
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 409) return { ok: false, conflict: true };
      throw toKubeError(err, { ref: refOfLease(namespace, name), verb: 'create', resource: 'leases' });
    }
  }

  /** Replaces the Lease if it still has `lease.metadata.resourceVersion`; `conflict` if someone wrote it since. */
  async update(lease: Lease, signal?: AbortSignal): Promise<LeaseWrite> {
    const { namespace, name } = lease.metadata;
    try {
      return { ok: true, lease: await this.transport.request<Lease>({ method: 'PUT', path: `${base(namespace)}/${encodeURIComponent(name)}`, body: lease, signal }) };
    } catch (err) {
      if (err instanceof KubeHttpError && (err.status === 409 || err.status === 404)) return { ok: false, conflict: true };
      throw toKubeError(err, { ref: refOfLease(namespace, name), verb: 'update', resource: 'leases' });
    }
  }

  /** Deletes the Lease if it still has `resourceVersion` (already gone is fine); `conflict` if someone wrote it since. */
  async delete(namespace: string, name: string, resourceVersion: string, signal?: AbortSignal): Promise<{ ok: boolean }> {
    try {
      await this.transport.request({ method: 'DELETE', path: `${base(namespace)}/${encodeURIComponent(name)}`, body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion } }, signal });
      return { ok: true };
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) return { ok: true };
      if (err instanceof KubeHttpError && err.status === 409) return { ok: false };
      throw toKubeError(err, { ref: refOfLease(namespace, name), verb: 'delete', resource: 'leases' });
    }
  }
}

/**
 * When each Lease was last seen to change, on the observer's clock: client-go's
 * `observedTime`. A lease counts as expired only when it has not changed for its duration as
 * measured here, so the holder's and the observer's clocks never need to agree.
 */
export class LeaseObserver {
  readonly #seen = new Map<string, { version: string; at: number }>();

  /** Records `lease` as seen at `now`; returns when it last changed. */
  observe(lease: Lease, now: number): number {
    const key = `${lease.metadata.namespace}/${lease.metadata.name}`;
    const version = JSON.stringify(lease.spec) + (lease.metadata.annotations ? JSON.stringify(lease.metadata.annotations) : '');
    const prev = this.#seen.get(key);
    if (prev?.version === version) return prev.at;
    this.#seen.set(key, { version, at: now });
    return now;
  }

  /** Whether `lease` has a holder that renewed it, as far as this observer saw, less than its duration ago. */
  held(lease: Lease, now: number, defaultDurationMs: number): boolean {
    if (!lease.spec.holderIdentity) return false;
    const durationMs = lease.spec.leaseDurationSeconds !== undefined ? lease.spec.leaseDurationSeconds * 1000 : defaultDurationMs;
    return now < this.observe(lease, now) + durationMs;
  }

  /** Forgets leases not in `keep` (deleted ones). */
  retain(keep: readonly Lease[]): void {
    const names = new Set(keep.map((l) => `${l.metadata.namespace}/${l.metadata.name}`));
    for (const key of this.#seen.keys()) if (!names.has(key)) this.#seen.delete(key);
  }
}
