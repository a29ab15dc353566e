// Folder per environment: one branch (`main`) with a folder per environment
// (`envs/staging`, `envs/production`), plain YAML in each, one reconciler per folder. A release
// changes `envs/staging`; promotion is a merge request that copies the file to
// `envs/production`, merged into `main`.
//
//   npm run folder-per-environment -w @converge/example-environments
//   node examples/environments/src/folder-per-environment.ts --kubeconfig ~/.kube/config   # your own cluster
//   node examples/environments/src/folder-per-environment.ts --keep                        # keep running; look with kubectl
import { parseArgs } from 'node:util';
import { gitSource } from '@converge/git-source';
import { appManifest } from './app-manifest.ts';
import { environmentReconciler } from './environment-reconciler.ts';
import { startPlayground } from '@converge/playground';
import { afterNextPass, printEnvironments } from './environment-status.ts';
import { mergePromotion, openPromotion } from './promote.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);

/** Each environment's own settings; everything else is in its folder. */
const environments = { staging: { REPLICAS: '1' }, production: { REPLICAS: '3' } };

const playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
const { git, sink, kubeConfig } = playground;
const url = git.repoUrl('shop-envs');
const reconcilers = Object.entries(environments).map(([environment, vars]) =>
  environmentReconciler({ environment, vars, sink, intervalMs: 2000, source: gitSource({ url, ref: { branch: 'main' }, path: `envs/${environment}` }) }),
);
const [staging, production] = reconcilers as [(typeof reconcilers)[0], (typeof reconcilers)[0]];
try {
  say('the environment repository: envs/staging and envs/production on main, both shop 1.0.0');
  await git.createRepo('shop-envs');
  await git.commitFiles('shop-envs', { 'envs/staging/app.yaml': appManifest('1.0.0'), 'envs/production/app.yaml': appManifest('1.0.0') }, 'shop 1.0.0 everywhere');
  console.log(`  ${url}`);

  say('one reconciler per folder starts; each applies into its own namespace');
  await Promise.all(reconcilers.map((r) => afterNextPass(r, () => r.start())));
  await printEnvironments(kubeConfig, Object.keys(environments));

  say('a release commits shop 1.1.0 to envs/staging; only staging follows');
  await afterNextPass(staging, () => git.commitFiles('shop-envs', { 'envs/staging/app.yaml': appManifest('1.1.0') }, 'staging: shop 1.1.0'), (e) => e.counts.updated > 0);
  await printEnvironments(kubeConfig, Object.keys(environments));

  say('promotion, step 1: a merge request copies envs/staging/app.yaml to envs/production (not deployed yet)');
  const branch = await openPromotion({ repoUrl: url, from: 'envs/staging', to: 'envs/production', files: ['app.yaml'] });
  console.log(`  pushed branch ${branch}`);

  say('promotion, step 2: the merge request is merged into main; production follows');
  await afterNextPass(production, () => mergePromotion({ repoUrl: url, branch }), (e) => e.counts.updated > 0);
  await printEnvironments(kubeConfig, Object.keys(environments));
  if (args.keep) {
    console.log(`\n  look for yourself: kubectl --kubeconfig ${playground.kubeconfigPath} get cm shop-config -n production -o yaml — Ctrl-C to stop`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
} catch (error) {
  console.error(`\n✗ failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await Promise.all(reconcilers.map((r) => r.stop()));
  await playground.close();
}
