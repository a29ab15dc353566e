// Preview environments from open merge requests, read from a real Gitea: no CI job writes spec
// files. A merge request opened with the `preview` label gets namespace `preview-<number>` with
// the application at its head commit; closing it tears the preview down.
//
//   node examples/fleet/src/previews-from-gitea.ts                                  # Gitea and a control plane on loopback
//   node examples/fleet/src/previews-from-gitea.ts --kubeconfig ~/.kube/config      # your own cluster
//   node examples/fleet/src/previews-from-gitea.ts --keep                           # keep running; open merge requests in Gitea's UI
//
// Gitea is built once from its Go module: bash packages/forge/scripts/build-gitea.sh (`npm test` does it).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { giteaForge } from '@converge/forge';
import { startGitea } from '@converge/forge/testing';
import { afterEvent, repoFiles, startPlayground } from '@converge/playground';
import { mergeRequestPreviews } from './merge-request-previews.ts';

const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const say = (text: string) => console.log(`\n▶ ${text}`);

const playground = await startPlayground({ ...(args.kubeconfig && { kubeconfig: args.kubeconfig }) });
const gitea = await startGitea();
const repository = await gitea.createRepo('shop');
const fleet = mergeRequestPreviews({
  forge: giteaForge({ url: gitea.url, repository, token: gitea.admin.token }),
  url: gitea.cloneUrl(repository),
  auth: { username: gitea.admin.username, password: gitea.admin.token },
  sink: playground.sink,
  vars: { REGISTRY: 'registry.example.com/acme' },
  intervalMs: 2000,
});
fleet.on('*', (e) => {
  if (e.type === 'app.added' || e.type === 'app.removed') console.log(`  ${e.type.padEnd(12)} ${e.app} (namespace ${e.app.replace(/^mr-/, 'preview-')})`);
  if (e.type === 'fleet.pass.failed') console.log(`  fleet pass failed: ${e.error.code}: ${e.error.message}`);
});
try {
  say(`Gitea at ${gitea.url}: ${repository} with the application in deploy/preview and a "preview" label`);
  await gitea.createLabel(repository, 'preview');
  await gitea.commitFiles(repository, repoFiles(fileURLToPath(new URL('../repo', import.meta.url))), 'the application');
  const label = (await gitea.api<{ id: number; name: string }[]>('GET', `/repos/${repository}/labels`)).find((l) => l.name === 'preview')!.id;
  await afterEvent(fleet, () => fleet.start(), (e) => e.type === 'fleet.pass.succeeded');
  console.log('  no merge request is open: no preview');

  say('merge request "feature/login" opens with the preview label: it gets an environment');
  await gitea.commitFiles(repository, { 'README.md': 'a login page' }, 'login', { branch: 'feature/login', from: 'main' });
  const pull = await gitea.api<{ number: number; html_url: string }>('POST', `/repos/${repository}/pulls`, { head: 'feature/login', base: 'main', title: 'Login page', labels: [label] });
  console.log(`  ${pull.html_url}`);
  await afterEvent(fleet, () => fleet.trigger('opened'), (e) => e.type === 'pass.succeeded' && e.reconciler === `${fleet.name}-mr-${pull.number}`);

  say('the merge request is closed in Gitea: its environment is torn down');
  await afterEvent(fleet, async () => {
    await gitea.api('PATCH', `/repos/${repository}/pulls/${pull.number}`, { state: 'closed' });
    fleet.trigger('closed'); // what a Gitea pull_request webhook would do (webhookHandler from @converge/forge)
  }, (e) => e.type === 'app.removed');
  if (args.keep) {
    console.log(`\n  open merge requests with the "preview" label at ${gitea.url}/${repository} (user ${gitea.admin.username}); kubectl --kubeconfig ${playground.kubeconfigPath} get ns — Ctrl-C to stop`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
} catch (error) {
  console.error(`\n✗ failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await fleet.stop();
  await gitea.stop();
  await playground.close();
}
