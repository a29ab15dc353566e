// The Converge demo: a pull agent keeps a real control plane equal to a git repository (plain
// YAML plus a Helm chart) while the repository changes and someone edits the cluster by hand.
//
//   npm run demo                                  # embedded control plane (etcd + kube-apiserver) and git server
//   npm run demo -- --kubeconfig ~/.kube/config   # your own cluster instead
//   npm run demo -- --keep                        # leave everything running at the end, until Ctrl-C
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { combine, createReconciler, yamlFiles, type ReconcileEvent } from '@converge/core';
import { afterEvent, repoFiles, startPlayground, type Playground } from '@converge/playground';
import { gitSource } from '@converge/git-source';
import { helmChart } from '@converge/helm-render';
import { printEvent } from './print-event.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);
const files = repoFiles(fileURLToPath(new URL('../repo', import.meta.url)));
const succeeded = (where: (e: Extract<ReconcileEvent, { type: 'pass.succeeded' }>) => boolean = () => true) => (e: ReconcileEvent) =>
  e.type === 'pass.succeeded' && where(e);

async function main(playground: Playground): Promise<void> {
  const { git, kubeConfig, kubeconfigPath, sink } = playground;
  await git.createRepo('shop-env');
  await git.commitFiles('shop-env', files, 'initial environment');
  console.log(`  environment repository ${git.repoUrl('shop-env')}`);
  console.log(`  look for yourself: kubectl --kubeconfig ${kubeconfigPath} get deploy,svc,cm -n shop`);

  const agent = createReconciler({
    name: 'shop',
    source: gitSource({
      url: git.repoUrl('shop-env'),
      ref: { branch: 'main' },
      onProgress: (e) => {
        if (e.type === 'fetched') console.log(`  git fetch ${e.revision.slice(0, 16)}…: ${e.files} files, ${e.cached ? 'from cache' : `${(e.bytes / 1024).toFixed(1)} KiB`} in ${e.durationMs.toFixed(0)} ms`);
      },
    }),
    render: combine(yamlFiles({ path: 'deploy' }), helmChart({ chart: 'charts/cache', releaseName: 'cache', namespace: 'shop' })),
    sink,
    prune: true,
    intervalMs: 3000,
    jitter: 0,
  });
  agent.on('*', printEvent);
  try {
    say('the pull agent starts: first sync');
    await afterEvent(agent, () => agent.start(), succeeded());

    say('a commit changes web replicas 2 → 3; the agent picks it up on its next poll');
    const scaled = { 'deploy/web.yaml': files['deploy/web.yaml']!.replace('replicas: 2', 'replicas: 3') };
    await afterEvent(agent, () => git.commitFiles('shop-env', scaled, 'scale web to 3'), succeeded((e) => e.counts.updated > 0));

    say('someone edits the live ConfigMap behind the agent’s back; the watch sees it and the agent reverts it');
    await afterEvent(agent, () => editConfigMapByHand(kubeConfig), succeeded((e) => e.driftCorrected > 0));

    say('a commit deletes deploy/worker.yaml; the agent prunes the worker');
    await afterEvent(agent, () => git.deleteFiles('shop-env', ['deploy/worker.yaml'], 'retire the worker'), succeeded((e) => e.counts.deleted > 0));

    const status = agent.status();
    say(`done: ${status.history.length} passes, ${status.managedObjects} objects managed at ${status.lastAppliedRevision}`);
    if (args.keep) {
      console.log(`  still running; kubectl --kubeconfig ${kubeconfigPath} get all -n shop — Ctrl-C to stop`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await agent.stop();
  }
}

/** A write by another field manager, as `kubectl edit` would do. */
async function editConfigMapByHand(kubeConfig: KubeConfig): Promise<void> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const cm = await api.readNamespacedConfigMap({ name: 'web-config', namespace: 'shop' });
  await api.replaceNamespacedConfigMap({ name: 'web-config', namespace: 'shop', body: { ...cm, data: { ...cm.data, greeting: 'edited by hand' } } });
  console.log('  (kubectl edit: greeting = "edited by hand")');
}

say('starting a git server and, unless --kubeconfig is given, a control plane');
let playground: Playground | undefined;
try {
  playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
  await main(playground);
} catch (error) {
  console.error(`\n✗ demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await playground?.close();
}
