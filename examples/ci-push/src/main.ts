#!/usr/bin/env node
// converge-push: the push half of GitOps as a CI step. `diff` prints what would change (masked)
// and exits 2 when something would; `comment` posts that plan on a merge request; `apply`
// applies, prunes, waits for health and exits 1 with the reason when any of it fails.
import { KubeConfig } from '@kubernetes/client-node';
import { appFactory } from '@converge/app-factory';
import { createReconciler, formatPlan, pipe, setNamespace } from '@converge/core';
import { kubeSink } from '@converge/kube-sink';
import { parsePushArgs, USAGE, type PushArgs } from './args.ts';
import { ciLogLine } from './ci-log.ts';
import { commentCommand } from './comment-command.ts';
import { pushArtifactCommand } from './push-artifact-command.ts';

/** Prints the failure last, on stderr; on GitHub Actions as an `::error::` annotation (one line, newlines escaped). */
function reportFailure(text: string): void {
  if (process.env['GITHUB_ACTIONS'] === 'true') console.error(`::error::${text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')}`);
  else console.error(`error: ${text}`);
}

async function main(args: PushArgs): Promise<number> {
  if (args.command === 'push-artifact' && args.artifact && args.dir) return pushArtifactCommand(args.dir, args.path, args.artifact);
  const token = args.gitTokenEnv ? process.env[args.gitTokenEnv] : undefined;
  const kubeConfig = new KubeConfig();
  if (args.kubeconfig) kubeConfig.loadFromFile(args.kubeconfig);
  else kubeConfig.loadFromDefault();

  const factory = appFactory(token ? { auth: { token } } : {});
  // The command line, as a fleet app spec file would say it (checked the same way).
  const spec = factory.parseSpec({
    name: args.name,
    source: { ...(args.dir ? { dir: args.dir } : { url: args.repo }), ...(Object.keys(args.ref).length > 0 && { ref: args.ref }), ...(args.path && { path: args.path }) },
    render: args.render,
    vars: args.vars,
    ...(args.namespace && { namespace: args.namespace }),
  }, { file: 'the command line' });
  const parts = factory.createApp(spec);
  const sink = kubeSink({ kubeConfig });
  const reconciler = createReconciler({
    name: args.name,
    source: parts.source,
    render: args.namespace ? pipe(parts.render, setNamespace(args.namespace)) : parts.render,
    sink,
    prune: args.prune,
    dryRun: args.dryRun,
    wait: args.waitTimeoutMs > 0 && !args.dryRun ? { timeoutMs: args.waitTimeoutMs } : false,
  });
  try {
    if (args.command === 'diff' || args.command === 'comment') {
      const { revision, plan } = await reconciler.preview();
      console.log(`converge-push diff: ${revision} against ${kubeConfig.getCurrentCluster()?.server ?? 'cluster'}`);
      const text = formatPlan(plan);
      console.log(text || 'no changes');
      const { created, updated, deleted } = plan.counts;
      console.log(`${created} to create, ${updated} to update, ${deleted} to prune`);
      if (args.command === 'comment' && args.comment) return commentCommand(args.comment, args.name, { revision, plan });
      return created + updated + deleted > 0 ? 2 : 0;
    }
    reconciler.on('*', (event) => {
      const line = ciLogLine(event, { dryRun: args.dryRun });
      if (line) console.log(line);
    });
    const result = await reconciler.reconcile({ approvePrune: args.approvePrune });
    if (result.status === 'failed') {
      const hint = result.error.code === 'PRUNE_BUDGET_EXCEEDED' ? ' (run again with --approve-prune if this is intended)' : '';
      reportFailure(`converge-push apply failed [${result.error.code}]: ${result.error.message}${hint}`);
      return 1;
    }
    return 0;
  } finally {
    await sink.close();
  }
}

let args: PushArgs;
try {
  args = parsePushArgs(process.argv.slice(2));
  for (const [flag, variable] of [['--git-token-env', args.gitTokenEnv], ['--forge-token-env', args.comment?.tokenEnv]] as const) {
    if (variable && !process.env[variable]) throw new TypeError(`${flag} ${variable}: the variable is not set`);
  }
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(64);
}
try {
  process.exitCode = await main(args);
} catch (error) {
  const e = error as Error & { code?: string };
  reportFailure(`converge-push ${args.command} failed${e.code ? ` [${e.code}]` : ''}: ${e.message}`);
  process.exitCode = 1;
}
