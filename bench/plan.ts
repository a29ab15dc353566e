// Benchmark: plan() over 10,000 desired objects against 10,000 live ones, 1% of them changed.
// Target (issue 2): under 1 s on one core. Run: `npm run bench:plan` (after `npm run build`).
import { plan, refOf, type KubeObject } from '@converge/core';

const N = 10_000;
const CHANGED = N / 100;

function desiredObject(i: number): KubeObject {
  const ns = `team-${i % 10}`;
  return i % 2 === 0
    ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `config-${i}`, namespace: ns, labels: { app: `app-${i}` } }, data: { key: `value-${i}`, other: 'x'.repeat(64) } }
    : {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `deploy-${i}`, namespace: ns, labels: { app: `app-${i}` } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: `app-${i}` } },
          template: { metadata: { labels: { app: `app-${i}` } }, spec: { containers: [{ name: 'main', image: `registry.local/app:${i}`, ports: [{ containerPort: 8080 }] }] } },
        },
      };
}

/** What an API server would return: server fields, defaults and status added. */
function liveObject(desired: KubeObject, i: number): KubeObject {
  const live = structuredClone(desired) as KubeObject & { spec?: any };
  Object.assign(live.metadata, { uid: `uid-${i}`, resourceVersion: String(1000 + i), generation: 1, creationTimestamp: '2026-11-01T00:00:00Z', managedFields: [{ manager: 'converge', operation: 'Apply', fieldsV1: { 'f:data': {} } }] });
  if (live.spec) {
    live.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    Object.assign(live.spec.template.spec.containers[0], { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', resources: {} });
    live['status'] = { replicas: 2, readyReplicas: 2, observedGeneration: 1 };
  }
  return live;
}

const desired = Array.from({ length: N }, (_, i) => desiredObject(i));
const live = desired.map((d, i) => {
  const l = liveObject(d, i);
  if (i % (N / CHANGED) === 0) (l.metadata.labels as Record<string, string>).app = 'drifted';
  return l;
});
const inventory = desired.map(refOf);

// Warm-up, then the best of 5 runs.
plan({ desired, live, inventory, prune: true });
const times: number[] = [];
let counts;
for (let run = 0; run < 5; run++) {
  const started = performance.now();
  counts = plan({ desired, live, inventory, prune: true }).counts;
  times.push(performance.now() - started);
}
const best = Math.min(...times);
const median = times.sort((a, b) => a - b)[2]!;
console.log(`plan(): ${N} desired vs ${N} live, ${CHANGED} changed → ${JSON.stringify(counts)}`);
console.log(`best ${best.toFixed(0)} ms, median ${median.toFixed(0)} ms, ${Math.round(N / (best / 1000)).toLocaleString('en')} objects/s`);
console.log(`target 1000 ms: ${(best / 1000).toFixed(2)}× the budget (${best < 1000 ? 'met' : 'missed'})`);
