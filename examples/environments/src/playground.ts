import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ReconcileEvent, Reconciler } from '@converge/core';
import { nextEvent } from '@converge/core/testing';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { locateKubeAssets, startTestEnv } from '@converge/kube-testenv';

/** A git server and a cluster to run an example against, and how to clean them up. */
export interface Playground {
  git: GitServer;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  sink: KubeSink;
  close(): Promise<void>;
}

/**
 * Starts a local git server and, unless `kubeconfig` names an existing cluster, a control plane
 * (etcd + kube-apiserver on loopback) — everything the examples need, nothing to install.
 */
export async function startPlayground(options: { kubeconfig?: string; log?: (line: string) => void } = {}): Promise<Playground> {
  const log = options.log ?? console.log;
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };
  try {
    const git = await startGitServer();
    cleanups.push(() => git.close());
    const kubeConfig = new KubeConfig();
    let kubeconfigPath = options.kubeconfig;
    if (kubeconfigPath) {
      kubeConfig.loadFromFile(kubeconfigPath);
    } else {
      log('starting a control plane (etcd + kube-apiserver on loopback)');
      await ensureKubeAssets(log);
      const env = await startTestEnv();
      cleanups.push(() => env.stop());
      kubeconfigPath = env.kubeconfigPath;
      kubeConfig.loadFromString(env.kubeConfig.exportConfig());
    }
    const sink = kubeSink({ kubeConfig });
    cleanups.push(() => sink.close());
    return { git, kubeConfig, kubeconfigPath, sink, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Builds etcd and kube-apiserver from Go modules the first time (minutes; cached afterwards). */
async function ensureKubeAssets(log: (line: string) => void): Promise<void> {
  try {
    await locateKubeAssets();
  } catch (error) {
    if ((error as { code?: string }).code !== 'KUBE_ASSETS_NOT_FOUND') throw error;
    log('first run: building etcd, kube-apiserver and kubectl from Go modules (cached for next time)');
    const script = fileURLToPath(new URL('../../../packages/kube-testenv/scripts/build-assets.sh', import.meta.url));
    execFileSync('bash', [script], { stdio: 'inherit' });
  }
}

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
  const seen = nextEvent(reconciler, 'pass.succeeded', where);
  await action();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${reconciler.status().name}: no successful pass within 60 s`)), 60_000);
  });
  try {
    await Promise.race([seen, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One line per environment: what the cluster runs there. */
export async function printEnvironments(kubeConfig: KubeConfig, namespaces: readonly string[]): Promise<void> {
  for (const namespace of namespaces) {
    const app = await deployed(kubeConfig, namespace);
    console.log(`  ${namespace.padEnd(12)} ${app ? `version ${app.version}  ENVIRONMENT=${app.environment}` : '(nothing deployed)'}`);
  }
}
