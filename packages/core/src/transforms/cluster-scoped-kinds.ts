/**
 * Kubernetes' built-in cluster-scoped kinds, as `group/Kind` (the core group is empty, so
 * `/Namespace`). Everything else is treated as namespaced unless declared otherwise.
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  '/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'node.k8s.io/RuntimeClass',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'resource.k8s.io/DeviceClass',
  'resource.k8s.io/ResourceSlice',
  'policy/PodSecurityPolicy',
  'authentication.k8s.io/TokenReview',
  'authentication.k8s.io/SelfSubjectReview',
  'authorization.k8s.io/SubjectAccessReview',
  'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
  'storagemigration.k8s.io/StorageVersionMigration',
  'internal.apiserver.k8s.io/StorageVersion',
]);

/**
 * Whether objects of a kind are cluster-scoped (have no namespace).
 *
 * Built-in kinds are known (see {@link CLUSTER_SCOPED_KINDS}); custom resource kinds are
 * namespaced unless `extra` lists them, as `group/Kind` (e.g. `cert-manager.io/ClusterIssuer`)
 * or as a bare `Kind`, which matches that kind in any group.
 *
 * @param kind - a ref or group-version-kind: only `group` and `kind` are read.
 * @param extra - more cluster-scoped kinds, e.g. from CRDs.
 * @example
 * ```ts
 * isClusterScoped({ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }); // true
 * isClusterScoped({ group: 'example.com', kind: 'Widget' }, ['example.com/Widget']); // true
 * ```
 */
export function isClusterScoped(kind: { group: string; kind: string }, extra: Iterable<string> = []): boolean {
  const key = `${kind.group}/${kind.kind}`;
  if (CLUSTER_SCOPED_KINDS.has(key)) return true;
  for (const entry of extra) {
    if (entry === key || entry === kind.kind) return true;
  }
  return false;
}
