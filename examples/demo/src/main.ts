// The Converge demo: a reconciler keeps a MemorySink equal to a folder of YAML while the
// folder changes and someone edits the "cluster" behind its back.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReconciler, directorySource, yamlFiles } from '@converge/core';
import { MemorySink } from '@converge/core/testing';
import { printEvent } from './print-event.ts';

const repo = mkdtempSync(join(tmpdir(), 'converge-demo-'));
cpSync(new URL('../manifests', import.meta.url), repo, { recursive: true });

const sink = new MemorySink({ id: 'memory://demo' });
const reconciler = createReconciler({ name: 'shop', source: directorySource(repo), render: yamlFiles(), sink, prune: true });
reconciler.on('*', printEvent);

async function step(title: string, change?: () => void): Promise<void> {
  console.log(`\n▶ ${title}`);
  change?.();
  const result = await reconciler.reconcile();
  if (result.status === 'failed') process.exitCode = 1;
}

try {
  console.log(`Converge demo — desired state in ${repo}, target ${sink.id}`);
  await step('first sync');
  await step('change a file: web replicas 2 → 3', () => {
    const path = join(repo, 'web.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('replicas: 2', 'replicas: 3'));
  });
  await step('someone edits the live ConfigMap by hand; the next pass reverts it', () => {
    const live = sink.objects().find((o) => o.kind === 'ConfigMap')!;
    sink.set({ ...live, data: { greeting: 'edited by hand' } });
  });
  await step('delete worker.yaml: the worker is pruned', () => rmSync(join(repo, 'worker.yaml')));
  await step('nothing changed: nothing is written');

  const { history } = reconciler.status();
  console.log(`\n${history.length} passes; live objects now:`);
  for (const o of sink.objects()) console.log(`  ${o.kind.padEnd(10)} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);
} finally {
  rmSync(repo, { recursive: true, force: true });
}
