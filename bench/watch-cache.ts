// Benchmark: what kube-sink's watch cache keeps in memory of a kind it watches across the cluster when most of that
// kind's objects are somebody else's (a shared cluster: another team's ConfigMaps or Secrets).
//
// On a real kube-apiserver + etcd, a bare loop applies F ConfigMaps of another owner (each with a value of B bytes).
// Then a sink on a watch cache of its own applies A ConfigMaps of its own and watches them for drift: the cache lists
// and watches ConfigMaps in every namespace. Measured, after a full GC each time:
//   cache     the V8 heap the watch cache and the sink added (from before they were created to after the cache holds
//             every ConfigMap of the cluster), with its stats (objects known, content held);
//   baseline  the heap that holding every listed ConfigMap takes (the LIST's items without managedFields, as the cache
//             stored every object before it kept only its own): the same objects, read the same way, kept in an array;
// and their ratio.
//
// Run: `npm run build && node bench/watch-cache.ts [--foreign 5000] [--own 100] [--value-bytes 1024]`
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { KubeObject } from '@converge/core';
import { createTransport, createWatchCache, kubeSink } from '@converge/kube-sink';
import { startTestEnv } from '@converge/kube-testenv';
import { bareApply, bareRequests } from './bare-apply.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

const foreign = Number(arg('foreign', '5000'));
const own = Number(arg('own', '100'));
const valueBytes = Number(arg('value-bytes', '1024'));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** The V8 heap in use after full collections, in bytes. */
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

const namespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const configMap = (ns: string, name: string, i: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data: { value: `${i}`.padStart(valueBytes, 'x') },
});

const env = await startTestEnv();
try {
  const kubeConfig = env.kubeConfig;
  const others = [namespace('others'), ...Array.from({ length: foreign }, (_, i) => configMap('others', `theirs-${i}`, i))];
  const seeded = await bareApply(kubeConfig, bareRequests(others, 'another-team'), 64);
  console.log(`${foreign} ConfigMaps of another owner (${valueBytes}-byte values) applied in ${(seeded.ms / 1000).toFixed(1)} s`);

  const before = heapUsed();
  const watchCache = createWatchCache({ kubeConfig });
  const sink = kubeSink({ kubeConfig, watchCache, inventory: { namespace: 'ours' } });
  const mine = [namespace('ours'), ...Array.from({ length: own }, (_, i) => configMap('ours', `ours-${i}`, i))];
  const results = await sink.apply(mine);
  if (!results.every((r) => r.ok)) throw new Error('the sink could not apply its own ConfigMaps');
  const stop = sink.watch(
    mine.map((o) => ({ group: '', kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })),
    () => undefined,
  );
  const deadline = Date.now() + 60_000;
  while (!(watchCache.stats().objects >= foreign + own && watchCache.stats().held >= own)) {
    if (Date.now() > deadline) throw new Error(`the cache did not sync: ${JSON.stringify(watchCache.stats())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const cacheBytes = heapUsed() - before;
  const stats = watchCache.stats();

  // Baseline: every ConfigMap of the cluster held, as read by a LIST without managedFields.
  const transport = createTransport(kubeConfig);
  const beforeAll = heapUsed();
  const held: KubeObject[] = [];
  let token: string | undefined;
  do {
    const page = await transport.request<{ items: KubeObject[]; metadata: { continue?: string } }>({ method: 'GET', path: '/api/v1/configmaps', query: { limit: 500, continue: token } });
    for (const { metadata: { managedFields: _dropped, ...metadata }, ...rest } of page.items) held.push({ ...rest, metadata });
    token = page.metadata.continue || undefined;
  } while (token);
  const allBytes = heapUsed() - beforeAll;
  console.log(`watch cache: ${stats.objects} ConfigMaps and Namespaces known, ${stats.held} held (${own} ConfigMaps and a Namespace of its own)`);
  console.log(`  heap of the cache and its sink: ${mib(cacheBytes)} MiB`);
  console.log(`  baseline, every listed ConfigMap held (${held.length}): ${mib(allBytes)} MiB`);
  console.log(`  ratio: the cache takes ${(cacheBytes / allBytes).toFixed(2)}x the baseline (${(allBytes / cacheBytes).toFixed(1)}x less)`);
  stop();
  await sink.close();
  await watchCache.close();
  await transport.close();
} finally {
  await env.stop();
}
