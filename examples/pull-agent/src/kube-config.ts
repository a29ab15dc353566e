import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where a pod's service account credentials are mounted, below the root. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How the agent reaches its cluster. */
export interface AgentKubeConfig {
  kubeConfig: KubeConfig;
  /** `in-cluster` when it runs in a pod with its service account; `kubeconfig` otherwise. */
  mode: 'in-cluster' | 'kubeconfig';
  /** The pod's namespace (the service account's `namespace` file), in a pod. */
  namespace?: string;
}

/** Options of {@link loadAgentKubeConfig}. */
export interface LoadAgentKubeConfigOptions {
  /** A kubeconfig file given on the command line; it wins over everything else. */
  kubeconfig?: string | undefined;
  /** Prefix of {@link SERVICE_ACCOUNT_DIR}, for a token mounted elsewhere (or a test). @default '' (the root) */
  serviceAccountRoot?: string | undefined;
}

/** In a pod, the service account's token or CA is missing: the message names the file. */
export class InClusterConfigError extends Error {
  readonly code = 'IN_CLUSTER_CONFIG_MISSING';
}

/**
 * Picks the cluster the way controller-runtime's `GetConfig` does: `--kubeconfig`, then the
 * `KUBECONFIG` variable, then in-cluster (when `KUBERNETES_SERVICE_HOST` and `_PORT` are set:
 * the service account token, refreshed from its file as the kubelet rotates it, and the
 * cluster CA), then `~/.kube/config`.
 */
export function loadAgentKubeConfig(options: LoadAgentKubeConfigOptions = {}): AgentKubeConfig {
  const env = process.env; // client-node's loadFromCluster reads it too
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) {
    kubeConfig.loadFromFile(options.kubeconfig);
    return { kubeConfig, mode: 'kubeconfig' };
  }
  if (env['KUBECONFIG'] || !env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
    kubeConfig.loadFromDefault();
    return { kubeConfig, mode: 'kubeconfig' };
  }
  const root = options.serviceAccountRoot ?? '';
  for (const file of ['token', 'ca.crt']) {
    const path = join(root, SERVICE_ACCOUNT_DIR, file);
    if (!existsSync(path)) {
      throw new InClusterConfigError(`KUBERNETES_SERVICE_HOST is set but ${path} does not exist: mount the service account token (automountServiceAccountToken), or pass --kubeconfig`);
    }
  }
  kubeConfig.loadFromCluster(root);
  const namespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace?.trim();
  return { kubeConfig, mode: 'in-cluster', ...(namespace && { namespace }) };
}
