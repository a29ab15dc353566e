import { KubeConfig } from '@kubernetes/client-node';
import { startGitServer, type GitServer } from '@converge/git-source/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { ensureKubeAssets, startTestEnv } from '@converge/kube-testenv';

/** Options of {@link startPlayground}. */
export interface PlaygroundOptions {
  /** Use this cluster instead of starting a control plane. */
  kubeconfig?: string;
  /** Where progress lines go. @default console.log */
  log?: (line: string) => void;
}

/** A git server and a cluster to run an example against, and how to clean them up. */
export interface Playground {
  git: GitServer;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  sink: KubeSink;
  /** Stops everything started, in reverse order. */
  close(): Promise<void>;
}

/**
 * Starts a local git server and, unless `kubeconfig` names an existing cluster, a control plane
 * (etcd + kube-apiserver on loopback, its binaries built from Go modules the first time) —
 * everything the examples need, nothing to install.
 */
export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
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
      log('  starting a control plane (etcd + kube-apiserver on loopback)');
      await ensureKubeAssets({ onOutput: (line) => log(`  ${line}`) });
      const env = await startTestEnv({ onProgress: (e) => log(`  ${e.type}${'component' in e ? ` ${String(e.component)}` : ''}`) });
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
