import { createReconciler, pipe, setNamespace, substitute, yamlFiles, type Gate, type KubeObject, type Reconciler, type Renderer, type Sink, type Source } from '@converge/core';

/** Options of {@link environmentReconciler}. */
export interface EnvironmentReconcilerOptions {
  /** The environment's name: `staging`, `production`, …; becomes `${ENVIRONMENT}` in the manifests. */
  environment: string;
  /** Where the environment's manifests live (a branch, or a folder of one branch). */
  source: Source;
  sink: Sink;
  /** The namespace everything goes to; created by the reconciler. @default the environment's name */
  namespace?: string;
  /** More substitution variables for this environment (e.g. `REPLICAS`). @default {} */
  vars?: Record<string, string>;
  /** The reconciler's name, which keys its inventory. @default `env-<environment>` */
  name?: string;
  /** Poll interval in ms for pull mode. @default 5000 */
  intervalMs?: number;
  /** Checks a revision must pass before anything is applied (e.g. an approval gate). @default [] */
  gates?: readonly Gate[];
}

/**
 * One reconciler per environment: plain YAML from the environment's source, `${ENVIRONMENT}`
 * and the environment's own variables substituted, everything placed in the environment's
 * namespace (which the reconciler creates), pruning on.
 */
export function environmentReconciler(options: EnvironmentReconcilerOptions): Reconciler {
  const namespace = options.namespace ?? options.environment;
  return createReconciler({
    name: options.name ?? `env-${options.environment}`,
    source: options.source,
    render: withNamespace(namespace, pipe(yamlFiles(), substitute({ ...options.vars, ENVIRONMENT: options.environment }), setNamespace(namespace))),
    sink: options.sink,
    prune: true,
    intervalMs: options.intervalMs ?? 5000,
    ...(options.gates && { gates: options.gates }),
  });
}

function withNamespace(namespace: string, render: Renderer): Renderer {
  const object: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
  return async (ctx) => [object, ...(await render(ctx))];
}
