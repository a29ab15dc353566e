import { createReconciler, type Reconciler, type Sink, type Source } from '@converge/core';
import { kustomize } from '@converge/kustomize';

/**
 * The application as a Kustomize base and one overlay per environment, the layout most
 * Flux and Argo CD repositories use. The base holds what every environment runs; an overlay
 * says only what differs: its namespace, its replicas, its image tag. A release changes the
 * staging overlay's tag; promotion copies it to the production overlay.
 */
export function overlayFiles(tags: { staging: string; production: string }, namespacePrefix = ''): Record<string, string> {
  return {
    'base/kustomization.yaml': 'resources:\n- app.yaml\nconfigMapGenerator:\n- name: shop-config\n  literals:\n  - greeting=Hello\ngeneratorOptions:\n  disableNameSuffixHash: true\n',
    'base/app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: { app: shop }
spec:
  replicas: 1
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop }
    spec:
      containers:
        - name: shop
          image: registry.example.com/shop:0.0.0
          envFrom:
            - configMapRef: { name: shop-config }
---
apiVersion: v1
kind: Service
metadata:
  name: shop
  labels: { app: shop }
spec:
  selector: { app: shop }
  ports:
    - port: 80
`,
    ...overlay('staging', 1, tags.staging, `${namespacePrefix}staging`),
    ...overlay('production', 3, tags.production, `${namespacePrefix}production`),
  };
}

/** One environment's overlay: its namespace (created by it), replicas and image tag. */
export function overlay(environment: string, replicas: number, tag: string, namespace = environment): Record<string, string> {
  return {
    [`overlays/${environment}/kustomization.yaml`]: `namespace: ${namespace}
resources:
- namespace.yaml
- ../../base
labels:
- pairs: { environment: ${environment} }
replicas:
- name: shop
  count: ${replicas}
images:
- name: registry.example.com/shop
  newTag: "${tag}"
configMapGenerator:
- name: shop-config
  behavior: merge
  literals:
  - environment=${environment}
  - version=${tag}
generatorOptions:
  disableNameSuffixHash: true
`,
    [`overlays/${environment}/namespace.yaml`]: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
  };
}

/** One reconciler per overlay: `kustomize build overlays/<environment>`, pruning on. */
export function overlayReconciler(options: { environment: string; source: Source; sink: Sink; intervalMs?: number }): Reconciler {
  return createReconciler({
    name: `overlay-${options.environment}`,
    source: options.source,
    render: kustomize({ path: `overlays/${options.environment}` }),
    sink: options.sink,
    prune: true,
    intervalMs: options.intervalMs ?? 5000,
  });
}
