import { describe, expect, it } from 'vitest';
import { diff } from '../../src/diff.js';
import type { KubeObject } from '../../src/object.js';

const deployment = (replicas: number, image = 'nginx:1.27'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
  },
});

/** What the API server returns for `deployment(3)`: defaults filled in, server fields set. */
const liveFromServer = (desired: KubeObject): KubeObject => {
  const live = structuredClone(desired) as KubeObject & { spec: any };
  Object.assign(live.metadata, {
    uid: '1f0c',
    resourceVersion: '812',
    generation: 4,
    creationTimestamp: '2026-01-01T00:00:00Z',
    managedFields: [{ manager: 'converge' }],
    annotations: { 'deployment.kubernetes.io/revision': '3' },
  });
  live.spec.strategy = { type: 'RollingUpdate' };
  live.spec.revisionHistoryLimit = 10;
  Object.assign(live.spec.template.spec.containers[0], { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
  live.status = { replicas: 3, readyReplicas: 3 };
  return live;
};

describe('diff', () => {
  it('reports no change when the live object only adds server defaults and server-set fields', () => {
    const desired = deployment(3);
    expect(diff(desired, liveFromServer(desired))).toMatchObject({ changed: false, patch: [] });
  });

  it('produces an RFC 6902 patch for a changed field', () => {
    const result = diff(deployment(5), liveFromServer(deployment(3)));
    expect(result.changed).toBe(true);
    expect(result.patch).toEqual([{ op: 'replace', path: '/spec/replicas', value: 5 }]);
  });

  it('sees a changed field inside an array element despite defaults on that element', () => {
    const result = diff(deployment(3, 'nginx:1.28'), liveFromServer(deployment(3)));
    expect(result.patch).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.28' }]);
  });

  it('adds a field the live object lacks and removes nothing the desired object does not set', () => {
    const desired = deployment(3);
    const live = liveFromServer(desired) as any;
    delete live.metadata.labels;
    expect(diff(desired, live).patch).toEqual([{ op: 'add', path: '/metadata/labels', value: { app: 'web' } }]);
  });

  it('leaves out fields matched by an ignore rule', () => {
    const result = diff(deployment(5), liveFromServer(deployment(3)), {
      ignore: [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }],
    });
    expect(result.changed).toBe(false);
  });

  it('ignore rules for another kind do not apply', () => {
    const result = diff(deployment(5), liveFromServer(deployment(3)), { ignore: [{ kind: 'StatefulSet', jsonPointers: ['/spec/replicas'] }] });
    expect(result.changed).toBe(true);
  });

  it('compares Secret stringData with the base64 data the server stores', () => {
    const desired: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'hunter2' } };
    const live: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', resourceVersion: '1' }, type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64') } };
    expect(diff(desired, live).changed).toBe(false);
    expect(diff({ ...desired, stringData: { password: 'other' } }, live).changed).toBe(true);
  });
});

describe('diff inputs', () => {
  it('leaves the desired and live objects untouched, ignore rules included', () => {
    const desired = deployment(5);
    const live = liveFromServer(deployment(3));
    const before = structuredClone({ desired, live });
    diff(desired, live, { ignore: [{ kind: 'Deployment', jsonPointers: ['/spec/replicas', '/metadata/labels/app'] }] });
    expect({ desired, live }).toEqual(before);
  });
});
