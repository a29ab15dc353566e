import type { KubeObject } from '@converge/core';

/** A CRD whose objects take any fields and have no size limit of their own, so only etcd's applies. */
export function blobCrd(group: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `blobs.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'blobs', singular: 'blob', kind: 'Blob' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
}

/** A `Blob` (see {@link blobCrd}) holding `bytes` bytes in `spec.blob`. */
export function blob(group: string, ns: string, name: string, bytes: number): KubeObject {
  return { apiVersion: `${group}/v1`, kind: 'Blob', metadata: { name, namespace: ns }, spec: { blob: 'x'.repeat(bytes) } };
}
