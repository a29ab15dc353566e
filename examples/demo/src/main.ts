// The Converge demo: a pull agent keeps a real control plane equal to a git repository (plain
// YAML plus a Helm chart) while the repository changes and someone edits the cluster by hand.
//
//   npm run demo                          # embedded control plane (etcd + kube-apiserver) and git server
//   npm run demo -- --kubeconfig ~/.kube/config   # your own cluster instead
//   npm run demo -- --keep                # leave everything running at the end, until Ctrl-C
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { combine, createReconciler, type ReconcileEvent, type ReconcileEventType, yamlFiles, type Reconciler } from '@converge/core';
import { nextEvent } from '@converge/core/testing';
import { gitSource } from '@converge/git-source';
import { startGitServer } from '@converge/git-source/testing';
import { helmChart } from '@converge/helm-render';
import { kubeSink } from '@converge/kube-sink';
import { locateKubeAssets, startTestEnv } from '@converge/kube-testenv';
import { printEvent } from './print-event.ts';
import { repoFiles } from './repo-files.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);
const cleanups: (() => Promise<unknown>)[] = [];

async function main(): Promise<void> {
  say('starting a git server with the environment repository');
  const git = await startGitServer();
  cleanups.push(() => git.close());
  await git.createRepo('shop-env');
  await git.commitFiles('shop-env', repoFiles(fileURLToPath(new URL('../repo', import.meta.url))), 'initial environment');
  console.log(`  ${git.repoUrl('shop-env')}`);

  let kubeconfigPath = args.kubeconfig;
  const kubeConfig = new KubeConfig();
  if (kubeconfigPath) {
    kubeConfig.loadFromFile(kubeconfigPath);
  } else {
    say('starting a control plane (etcd + kube-apiserver on loopback)');
    await ensureKubeAssets();
    const env = await startTestEnv({ onProgress: (e) => console.log(`  ${e.type}${'component' in e ? ` ${String(e.component)}` : ''}`) });
    cleanups.push(() => env.stop());
    kubeconfigPath = env.kubeconfigPath;
    kubeConfig.loadFromString(env.kubeConfig.exportConfig());
  }
  console.log(`  look for yourself: kubectl --kubeconfig ${kubeconfigPath} get deploy,svc,cm -n shop`);

  const sink = kubeSink({ kubeConfig });
  cleanups.push(() => sink.close());
  const agent = createReconciler({
    name: 'shop',
    source: gitSource({ url: git.repoUrl('shop-env'), ref: { branch: 'main' } }),
    render: combine(yamlFiles({ path: 'deploy' }), helmChart({ chart: 'charts/cache', releaseName: 'cache', namespace: 'shop' })),
    sink,
    prune: true,
    interval: 3000,
    jitter: 0,
  });
  agent.on('*', printEvent);
  cleanups.push(() => agent.stop());

  say('the pull agent starts: first sync');
  await until(agent, 'pass.succeeded', () => agent.start());

  say('a commit changes web replicas 2 → 3; the agent picks it up on its next poll');
  const web = repoFiles(fileURLToPath(new URL('../repo', import.meta.url)))['deploy/web.yaml']!;
  await until(agent, 'pass.succeeded', () => git.commitFiles('shop-env', { 'deploy/web.yaml': web.replace('replicas: 2', 'replicas: 3') }, 'scale web to 3'), (e) => e.counts.updated > 0);

  say('someone edits the live ConfigMap behind the agent’s back; the watch sees it and the agent reverts it');
  await until(agent, 'pass.succeeded', () => editConfigMapByHand(kubeConfig), (e) => e.driftCorrected > 0);

  say('a commit deletes deploy/worker.yaml; the agent prunes the worker');
  await until(agent, 'pass.succeeded', () => git.deleteFiles('shop-env', ['deploy/worker.yaml'], 'retire the worker'), (e) => e.counts.deleted > 0);

  const status = agent.status();
  say(`done: ${status.history.length} passes, ${status.managedObjects} objects managed at ${status.lastAppliedRevision}`);
  if (args.keep) {
    console.log(`  still running; kubectl --kubeconfig ${kubeconfigPath} get all -n shop — Ctrl-C to stop`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
}

/** Builds etcd and kube-apiserver from Go modules the first time (minutes; cached afterwards). */
async function ensureKubeAssets(): Promise<void> {
  try {
    await locateKubeAssets();
  } catch (error) {
    if ((error as { code?: string }).code !== 'KUBE_ASSETS_NOT_FOUND') throw error;
    console.log('  first run: building etcd, kube-apiserver and kubectl from Go modules (cached for next time)');
    const script = fileURLToPath(new URL('../../../packages/kube-testenv/scripts/build-assets.sh', import.meta.url));
    execFileSync('bash', [script], { stdio: 'inherit' });
  }
}

/** Does `action`, then waits (at most a minute) for the agent's next matching event. */
async function until<T extends ReconcileEventType>(agent: Reconciler, type: T, action: () => unknown, where?: (e: Extract<ReconcileEvent, { type: T }>) => boolean): Promise<void> {
  const seen = nextEvent(agent, type, where);
  await action();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${type} within 60 s`)), 60_000).unref());
  await Promise.race([seen, timeout]);
}

/** A write by another field manager, as `kubectl edit` would do. */
async function editConfigMapByHand(kubeConfig: KubeConfig): Promise<void> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const cm = await api.readNamespacedConfigMap({ name: 'web-config', namespace: 'shop' });
  cm.data = { ...cm.data, greeting: 'edited by hand' };
  await api.replaceNamespacedConfigMap({ name: 'web-config', namespace: 'shop', body: cm });
  console.log('  (kubectl edit: greeting = "edited by hand")');
}

try {
  await main();
} catch (error) {
  console.error(`\n✗ demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
