import type { ObjectRef } from './object.js';

/**
 * Helm's install order (`pkg/release/v1/util/kind_sorter.go`), with Namespaces and
 * CustomResourceDefinitions moved to the front so custom resources always find their CRD.
 */
export const APPLY_ORDER: readonly string[] = [
  'Namespace',
  'CustomResourceDefinition',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

const RANK = new Map(APPLY_ORDER.map((kind, i) => [kind, i]));

/** The apply rank of a kind; kinds Helm does not know (custom resources) come last. */
export function applyRank(kind: string): number {
  return RANK.get(kind) ?? APPLY_ORDER.length;
}

/**
 * Sorts items into apply order by kind. The sort is stable, so items of one kind keep their
 * rendered order. Deletes use the reverse of this order.
 */
export function sortForApply<T>(items: readonly T[], refOfItem: (item: T) => Pick<ObjectRef, 'kind'>): T[] {
  return items
    .map((item, i) => ({ item, i, rank: applyRank(refOfItem(item).kind) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map(({ item }) => item);
}
