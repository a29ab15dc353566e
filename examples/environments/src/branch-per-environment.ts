// Branch per environment: one environment repository, one branch per environment (`staging`,
// `production`), one reconciler per branch, each into its own namespace. A release lands on
// `staging`; promotion is `git merge staging` into `production`.
//
//   npm run branch-per-environment -w @converge/example-environments
//   node examples/environments/src/branch-per-environment.ts --kubeconfig ~/.kube/config   # your own cluster
//   node examples/environments/src/branch-per-environment.ts --keep                        # keep running; look with kubectl
import { parseArgs } from 'node:util';
import { gitSource } from '@converge/git-source';
import { appManifest } from './app-manifest.ts';
import { environmentReconciler } from './environment-reconciler.ts';
import { startPlayground } from '@converge/playground';
import { afterNextPass, printEnvironments } from './environment-status.ts';
import { promoteBranch } from './promote.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);

/** Each environment's own settings; everything else is in the branch. */
const environments = { staging: { REPLICAS: '1' }, production: { REPLICAS: '3' } };

const playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
const { git, sink, kubeConfig } = playground;
const reconcilers = Object.entries(environments).map(([environment, vars]) =>
  environmentReconciler({ environment, vars, sink, intervalMs: 2000, source: gitSource({ url: git.repoUrl('shop-env'), ref: { branch: environment } }) }),
);
const [staging, production] = reconcilers as [(typeof reconcilers)[0], (typeof reconcilers)[0]];
try {
  say('the environment repository: shop 1.0.0 on branch staging, and production branched from it');
  await git.createRepo('shop-env', { defaultBranch: 'production' });
  const first = await git.commitFiles('shop-env', { 'app.yaml': appManifest('1.0.0') }, 'shop 1.0.0', { branch: 'staging' });
  await git.setRef('shop-env', 'refs/heads/production', first);
  console.log(`  ${git.repoUrl('shop-env')}  (branches: staging, production)`);

  say('one reconciler per branch starts; each applies into its own namespace');
  await Promise.all(reconcilers.map((r) => afterNextPass(r, () => r.start())));
  await printEnvironments(kubeConfig, Object.keys(environments));

  say('a release commits shop 1.1.0 to the staging branch; only staging follows');
  await afterNextPass(staging, () => git.commitFiles('shop-env', { 'app.yaml': appManifest('1.1.0') }, 'shop 1.1.0', { branch: 'staging' }), (e) => e.counts.updated > 0);
  await printEnvironments(kubeConfig, Object.keys(environments));

  say('promotion: git merge staging into production, git push');
  await afterNextPass(production, () => promoteBranch({ repoUrl: git.repoUrl('shop-env'), from: 'staging', to: 'production' }), (e) => e.counts.updated > 0);
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
