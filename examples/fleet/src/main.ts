// Preview environments per merge request, end to end: a fleet follows `apps/` of a git
// repository; CI writes `apps/<branch>.yaml` (the image tag it built) when a merge request
// opens and deletes it when it closes. The fleet merges each file over `apps/_template.yaml`,
// creates namespace `preview-<branch>`, deploys once the image exists in the registry, and
// tears the preview down when the file goes.
//
//   node examples/fleet/src/main.ts                                  # embedded git server, control plane, registry
//   node examples/fleet/src/main.ts --kubeconfig ~/.kube/config      # your own cluster instead
//   node examples/fleet/src/main.ts --keep                           # keep running at the end; Ctrl-C to stop
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { formatRef } from '@converge/core';
import type { FleetEvent } from '@converge/fleet';
import { afterEvent, repoFiles, startPlayground, type Playground } from '@converge/playground';
// A real OCI registry (CNCF distribution's `registry`) on loopback, as the image gate's own tests use.
import { startRegistry } from '@converge/oci/testing';
import { previewFleet } from './preview-fleet.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);
const cleanups: (() => Promise<unknown>)[] = [];
const spec = (tag: string) => `# written by CI for this merge request\nvars:\n  TAG: ${tag}\n`;

async function main({ git, kubeconfigPath, kubeConfig, sink }: Playground): Promise<void> {
  await git.createRepo('previews');
  await git.commitFiles('previews', repoFiles(fileURLToPath(new URL('../repo', import.meta.url))), 'apps/_template.yaml and deploy/preview');
  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  console.log(`  git ${git.repoUrl('previews')}   registry ${registry.host}   kubeconfig ${kubeconfigPath}`);

  const fleet = previewFleet({
    url: git.repoUrl('previews'),
    sink,
    vars: { REGISTRY: `${registry.host}/acme` },
    imageGate: { insecureRegistries: [registry.host] },
    intervalMs: 2000,
  });
  fleet.on('*', print);
  cleanups.push(() => fleet.stop());

  const passed = (reconciler: string) => (e: FleetEvent) => e.type === 'pass.succeeded' && e.reconciler === reconciler;
  say('the fleet starts: apps/ holds only the template, so there is nothing to deploy');
  await afterEvent(fleet, () => fleet.start(), (e) => e.type === 'fleet.pass.succeeded');

  say('merge request feature-x opens: CI pushes shop:feature-x-1a2b3c, then writes apps/feature-x.yaml');
  await registry.push('acme/shop', 'feature-x-1a2b3c');
  const openX = () => git.commitFiles('previews', { 'apps/feature-x.yaml': spec('feature-x-1a2b3c') }, 'preview feature-x');
  await afterEvent(fleet, openX, passed('previews-feature-x'));

  say('merge request feature-y opens, but its spec lands before CI has pushed the image: the gate holds it');
  const openY = () => git.commitFiles('previews', { 'apps/feature-y.yaml': spec('feature-y-9f8e7d') }, 'preview feature-y');
  await afterEvent(fleet, openY, (e) => e.type === 'pass.failed' && e.reconciler === 'previews-feature-y');
  say('CI pushes shop:feature-y-9f8e7d; the next retry applies it');
  await afterEvent(fleet, () => registry.push('acme/shop', 'feature-y-9f8e7d'), passed('previews-feature-y'));

  say('merge request feature-x is merged: CI deletes apps/feature-x.yaml; the fleet tears the preview down');
  const closeX = () => git.deleteFiles('previews', ['apps/feature-x.yaml'], 'close feature-x');
  await afterEvent(fleet, closeX, (e) => e.type === 'app.removed' && e.app === 'feature-x');

  say('all previews in one view');
  for (const [app, s] of Object.entries(fleet.status().apps)) console.log(`  ${app.padEnd(10)} ${s.phase.padEnd(8)} ${s.managedObjects} objects  ${s.lastAppliedRevision ?? ''}  ns ${s.spec.namespace}`);
  const namespaces = await kubeConfig.makeApiClient(CoreV1Api).listNamespace();
  for (const ns of namespaces.items.filter((n) => n.metadata!.name!.startsWith('preview-'))) {
    console.log(`  namespace ${ns.metadata!.name} ${ns.metadata!.deletionTimestamp ? 'Terminating (deleted; a cluster with a controller-manager finalizes it)' : ns.status?.phase}`);
  }
  if (args.keep) {
    console.log(`\n  kubectl --kubeconfig ${kubeconfigPath} get all -n preview-feature-y — Ctrl-C to stop`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
}

function print(e: FleetEvent): void {
  switch (e.type) {
    case 'app.added':
    case 'app.removed':
    case 'app.updated':
      return console.log(`  ${e.type.padEnd(16)} ${e.app}`);
    case 'fleet.pass.failed':
      return console.log(`  ${'[fleet]'.padEnd(16)} ✗ ${e.error.code}`);
  }
  if (!('reconciler' in e)) return;
  const who = `[${e.reconciler.replace(/^previews-/, '')}]`;
  switch (e.type) {
    case 'object.applied':
      return console.log(`  ${who.padEnd(16)} ${e.action === 'create' ? '+' : '~'} ${formatRef(e.ref)}`);
    case 'object.pruned':
      return console.log(`  ${who.padEnd(16)} - ${formatRef(e.ref)}`);
    case 'gate.blocked':
      return console.log(`  ${who.padEnd(16)} ⏸ ${e.message}`);
    case 'pass.failed':
      return console.log(`  ${who.padEnd(16)} ✗ ${e.error.code}${e.retryInMs ? `, retry in ${(e.retryInMs / 1000).toFixed(1)} s` : ''}`);
  }
}

say('starting a git server, an OCI registry and, unless --kubeconfig is given, a control plane');
let playground: Playground | undefined;
try {
  playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
  await main(playground);
} catch (error) {
  console.error(`\n✗ failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await playground?.close();
}
