export { kubeSink } from './kube-sink.js';
export type { KubeSink, KubeSinkOptions, KubeSinkBaseOptions, KubeSinkTransportOptions, KubeSinkInjectedTransport } from './kube-sink.js';
export { createTransport } from './transport.js';
export type { KubeTransport, KubeRequest, KubeRequestInfo, TransportOptions } from './transport.js';
export { createRequestLimiter, sharedRequestLimiter } from './request-limiter.js';
export type { RequestLimiter, RequestLimiterOptions, RequestLimiterStats } from './request-limiter.js';
export { createDiscovery } from './discovery.js';
export type { Discovery, ResourceMapping } from './discovery.js';
export { resourcePath } from './resource-path.js';
export type { KubeDeleteResult } from './delete.js';
export { inventoryLocation, INVENTORY_LABEL, INVENTORY_OWNER_ANNOTATION, INVENTORY_DATA_KEY } from './inventory.js';
export type { InventoryOptions, InventoryLocation } from './inventory.js';
export type { DriftWatchOptions } from './watch.js';
export { createWatchCache, sharedWatchCache } from './watch-cache.js';
export type { WatchCache, WatchCacheOptions, WatchCacheStats } from './watch-cache.js';
export { createLeaderElector } from './leader-election.js';
export type { LeaderElector, LeaderElectorOptions, LeaderEvent, LeaderEventType, LeaderLostReason } from './leader-election.js';
export { LeaseClient, LeaseOptionsError } from './lease.js';
export { createShardMembership, SHARD_GROUP_LABEL, SHARD_LABEL, SHARD_VIEW_ANNOTATION } from './shard-membership.js';
export type { ShardMembership, ShardMembershipOptions, ShardEvent, ShardEventType } from './shard-membership.js';
export type { Lease, LeaseSpec, LeaseTiming, LeaseConnection, LeaseWrite } from './lease.js';
// Moved to @converge/core; re-exported for 0.x.
export { liveHealth, waitForHealth } from '@converge/core';
export type { WaitForHealthOptions } from '@converge/core';
export {
  KubeSinkError,
  ApplyConflictError,
  KubeInvalidError,
  KubeForbiddenError,
  UnknownKindError,
  KubeUnreachableError,
  NamespaceTerminatingError,
  RequestTooLargeError,
  KubeHttpError,
} from './errors.js';
export { toKubeError } from './internal/to-kube-error.js';
export type {
  KubeErrorCode,
  KubeErrorData,
  ApplyConflictData,
  KubeInvalidData,
  KubeForbiddenData,
  UnknownKindData,
  KubeUnreachableData,
  NamespaceTerminatingData,
  RequestTooLargeData,
  KubeStatus,
  KubeStatusDetails,
  KubeStatusCause,
  KubeRequestContext,
} from './errors.js';
