import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { sinkConformance } from '@converge/core/testing';
import { beforeAll, describe, it } from 'vitest';
import type { KubeSink } from '../src/index.js';
import { recordingSink, uniqueName } from './helpers.js';

let kc: KubeConfig;
beforeAll(async () => {
  kc = (await useTestEnv()).kubeConfig;
});

describe('kubeSink passes the sink conformance suite on a real control plane', () => {
  const ns = uniqueName('conformance');
  const checks = sinkConformance({
    namespace: ns,
    makeSink: () => recordingSink(kc, { inventory: { namespace: ns } }).sink,
    closeSink: (sink) => (sink as KubeSink).close(),
    // The API server refuses a negative replica count.
    invalidObject: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'invalid', namespace: ns }, spec: { replicas: -1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } },
  });
  for (const check of checks) it(check.name, () => check.run());
});
