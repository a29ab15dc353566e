// Production approval through a merge request, on a real Gitea: branch `main` is staging and
// deploys on push; branch `production` is protected (one approval) and its reconciler applies
// only commits that a merge request merged. A release is proposed to production as a merge
// request; production waits until a person approves and merges it.
//
//   node examples/environments/src/approval-per-merge-request.ts                              # Gitea and a control plane on loopback
//   node examples/environments/src/approval-per-merge-request.ts --kubeconfig ~/.kube/config  # your own cluster
//   node examples/environments/src/approval-per-merge-request.ts --keep                       # keep running; look in Gitea and with kubectl
//
// Gitea is built once from its Go module: bash packages/forge/scripts/build-gitea.sh (`npm test` does it).
import { parseArgs } from 'node:util';
import { giteaForge } from '@converge/forge';
import { startGitea } from '@converge/forge/testing';
import { gitSource } from '@converge/git-source';
import { startPlayground } from '@converge/playground';
import { appManifest } from './app-manifest.ts';
import { environmentReconciler } from './environment-reconciler.ts';
import { afterNextPass, printEnvironments } from './environment-status.ts';
import { approvedProduction, proposeRelease } from './production-approval.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);

const playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
const gitea = await startGitea();
const { sink, kubeConfig } = playground;
const repository = await gitea.createRepo('shop-env');
const reviewer = await gitea.createUser('reviewer');
const repo = { forge: giteaForge({ url: gitea.url, repository, token: gitea.admin.token }), url: gitea.cloneUrl(repository), auth: { username: gitea.admin.username, password: gitea.admin.token } };
const staging = environmentReconciler({ environment: 'staging', sink, intervalMs: 2000, source: gitSource({ url: repo.url, ref: { branch: 'main' }, auth: repo.auth }) });
const production = approvedProduction(repo, { sink, intervalMs: 2000, vars: { REPLICAS: '3' } });
production.on('gate.blocked', (e) => console.log(`  production waits: ${e.message}`));
try {
  say(`Gitea at ${gitea.url}: ${repository}, branch production protected (one approval), reviewer "${reviewer.username}"`);
  await gitea.addCollaborator(repository, reviewer.username);
  await gitea.createLabel(repository, 'promotion');
  await gitea.api('POST', `/repos/${repository}/branches`, { new_branch_name: 'production', old_ref_name: 'main' });
  await gitea.api('POST', `/repos/${repository}/branch_protections`, { branch_name: 'production', required_approvals: 1, enable_push: true });

  say('a release commits shop 1.0.0 to main: staging deploys on push');
  await afterNextPass(staging, async () => {
    await gitea.commitFiles(repository, { 'app.yaml': appManifest('1.0.0') }, 'shop 1.0.0');
    staging.start();
  });
  production.start();
  await printEnvironments(kubeConfig, ['staging', 'production']);

  say('promotion, step 1: a merge request into production (nothing deployed yet)');
  const { mergeRequest } = await proposeRelease(repo, { version: '1.0.0', manifest: appManifest('1.0.0'), labels: ['promotion'] });
  console.log(`  ${mergeRequest.url}  "${mergeRequest.title}"`);
  await printEnvironments(kubeConfig, ['staging', 'production']);

  say(`promotion, step 2: ${reviewer.username} approves and merges it in Gitea; production deploys the merge`);
  await gitea.api('POST', `/repos/${repository}/pulls/${mergeRequest.number}/reviews`, { event: 'APPROVED', body: 'ship it' }, reviewer);
  await afterNextPass(production, async () => {
    // Gitea checks a new merge request in the background; merge once it has.
    for (let tries = 0; ; tries++) {
      try {
        await gitea.api('POST', `/repos/${repository}/pulls/${mergeRequest.number}/merge`, { Do: 'merge' }, reviewer);
        break;
      } catch (error) {
        if (tries > 60) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    production.trigger('merged'); // what a Gitea push webhook would do
  }, (e) => e.counts.created > 0);
  await printEnvironments(kubeConfig, ['staging', 'production']);
  if (args.keep) {
    console.log(`\n  look for yourself: ${gitea.url}/${repository}/pulls (user ${gitea.admin.username}) and kubectl --kubeconfig ${playground.kubeconfigPath} get cm shop-config -n production -o yaml — Ctrl-C to stop`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
} catch (error) {
  console.error(`\n✗ failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await Promise.all([staging.stop(), production.stop()]);
  await gitea.stop();
  await playground.close();
}
