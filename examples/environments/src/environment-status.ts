import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ReconcileEvent, Reconciler } from '@converge/core';
import { afterEvent } from '@converge/playground';

/** What an environment runs, read back from the cluster: `{ environment, version }` from its ConfigMap. */
export async function deployed(kubeConfig: KubeConfig, namespace: string): Promise<{ environment?: string; version?: string } | undefined> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  try {
    const cm = await core.readNamespacedConfigMap({ name: 'shop-config', namespace });
    return { ...(cm.data?.['environment'] && { environment: cm.data['environment'] }), ...(cm.data?.['version'] && { version: cm.data['version'] }) };
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Does `action`, then waits (at most a minute) for `reconciler`'s next successful pass that matches `where`. */
export async function afterNextPass(
  reconciler: Reconciler,
  action: () => unknown,
  where: (e: Extract<ReconcileEvent, { type: 'pass.succeeded' }>) => boolean = () => true,
): Promise<void> {
  await afterEvent(reconciler, action, (e) => e.type === 'pass.succeeded' && where(e));
}

/** One line per environment: what the cluster runs there. */
export async function printEnvironments(kubeConfig: KubeConfig, namespaces: readonly string[]): Promise<void> {
  for (const namespace of namespaces) {
    const app = await deployed(kubeConfig, namespace);
    console.log(`  ${namespace.padEnd(12)} ${app ? `version ${app.version}  ENVIRONMENT=${app.environment}` : '(nothing deployed)'}`);
  }
}
