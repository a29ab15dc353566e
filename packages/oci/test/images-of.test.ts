import { describe, expect, it } from 'vitest';
import { parseManifests, type KubeObject } from '@converge/core';
import { imagesOf, imageUsages } from '../src/images-of.js';

const podSpec = (prefix: string) => ({
  initContainers: [{ name: 'init', image: `${prefix}-init:1` }],
  containers: [
    { name: 'main', image: `${prefix}:1` },
    { name: 'side', image: 'shared/sidecar:2' },
  ],
});

function workload(apiVersion: string, kind: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion, kind, metadata: { name: kind.toLowerCase(), namespace: 'demo' }, spec };
}

describe('imagesOf', () => {
  it('collects containers, init containers and ephemeral containers of every workload kind, deduplicated', () => {
    const objects: KubeObject[] = [
      workload('v1', 'Pod', { ...podSpec('pod'), ephemeralContainers: [{ name: 'debug', image: 'busybox:1.36' }] }),
      workload('apps/v1', 'Deployment', { template: { spec: podSpec('deploy') } }),
      workload('apps/v1', 'StatefulSet', { template: { spec: podSpec('sts') } }),
      workload('apps/v1', 'DaemonSet', { template: { spec: podSpec('ds') } }),
      workload('apps/v1', 'ReplicaSet', { template: { spec: podSpec('rs') } }),
      workload('batch/v1', 'Job', { template: { spec: podSpec('job') } }),
      workload('batch/v1', 'CronJob', { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: podSpec('cron') } } } }),
      workload('v1', 'ReplicationController', { template: { spec: podSpec('rc') } }),
    ];
    expect(imagesOf(objects)).toEqual([
      'pod-init:1',
      'pod:1',
      'shared/sidecar:2',
      'busybox:1.36',
      ...['deploy', 'sts', 'ds', 'rs', 'job', 'cron', 'rc'].flatMap((p) => [`${p}-init:1`, `${p}:1`]),
    ]);
  });

  it('ignores other kinds, same-named kinds of other API groups, and containers without an image', () => {
    const objects: KubeObject[] = [
      workload('v1', 'Service', { template: { spec: podSpec('svc') } }),
      workload('example.com/v1', 'Deployment', { template: { spec: podSpec('crd') } }),
      workload('apps/v1', 'Deployment', { template: { spec: { containers: [{ name: 'x' }, { name: 'y', image: '' }, null, 'junk'] } } }),
      workload('apps/v1', 'Deployment', {}),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { image: 'nope:1' } },
    ];
    expect(imagesOf(objects)).toEqual([]);
  });

  it('records which objects use each image', () => {
    const objects = parseManifests(
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: a, namespace: demo }
spec: { template: { spec: { containers: [{ name: c, image: "app:1" }, { name: d, image: "app:1" }] } } }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: b, namespace: demo }
spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: c, image: "app:1" }] } } } } }
`,
      'app.yaml',
    );
    expect(imageUsages(objects)).toEqual([
      {
        image: 'app:1',
        usedBy: [
          { group: 'apps', kind: 'Deployment', namespace: 'demo', name: 'a' },
          { group: 'batch', kind: 'CronJob', namespace: 'demo', name: 'b' },
        ],
      },
    ]);
  });
});
