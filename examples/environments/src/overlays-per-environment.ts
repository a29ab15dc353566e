// Base and overlays: one branch (`main`) with a Kustomize base and an overlay per environment
// (`overlays/staging`, `overlays/production`), one reconciler per overlay rendering it with
// Kustomize's own engine (@converge/kustomize). A release changes the staging overlay's image
// tag; promotion copies the tag to the production overlay.
//
//   npm run overlays-per-environment -w @converge/example-environments
//   node examples/environments/src/overlays-per-environment.ts --kubeconfig ~/.kube/config   # your own cluster
import { parseArgs } from 'node:util';
import { gitSource } from '@converge/git-source';
import { startPlayground } from '@converge/playground';
import { afterNextPass, printEnvironments } from './environment-status.ts';
import { overlay, overlayFiles, overlayReconciler } from './overlays.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const say = (text: string) => console.log(`\n▶ ${text}`);

const playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
const { git, sink, kubeConfig } = playground;
const url = git.repoUrl('shop-overlays');
const [staging, production] = ['staging', 'production'].map((environment) =>
  overlayReconciler({ environment, sink, intervalMs: 2000, source: gitSource({ url, ref: { branch: 'main' } }) }),
) as [ReturnType<typeof overlayReconciler>, ReturnType<typeof overlayReconciler>];
try {
  say('the repository: base/ and overlays/{staging,production} on main, both shop 1.0.0');
  await git.createRepo('shop-overlays');
  await git.commitFiles('shop-overlays', overlayFiles({ staging: '1.0.0', production: '1.0.0' }), 'shop 1.0.0 everywhere');

  say('one reconciler per overlay starts; each overlay sets its namespace, replicas and tag');
  await Promise.all([staging, production].map((r) => afterNextPass(r, () => r.start())));
  await printEnvironments(kubeConfig, ['staging', 'production']);

  say('a release sets shop 1.1.0 in overlays/staging; only staging follows');
  await afterNextPass(staging, () => git.commitFiles('shop-overlays', overlay('staging', 1, '1.1.0'), 'staging: shop 1.1.0'), (e) => e.counts.updated > 0);
  await printEnvironments(kubeConfig, ['staging', 'production']);

  say('promotion: the production overlay takes the staging tag');
  await afterNextPass(production, () => git.commitFiles('shop-overlays', overlay('production', 3, '1.1.0'), 'production: shop 1.1.0'), (e) => e.counts.updated > 0);
  await printEnvironments(kubeConfig, ['staging', 'production']);
} catch (error) {
  console.error(`\n✗ failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await Promise.all([staging, production].map((r) => r.stop()));
  await playground.close();
}
