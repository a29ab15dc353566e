import { describe, expect, it } from 'vitest';
import { computeHealth, notFoundHealth } from '../../src/health/compute-health.js';
import type { KubeObject } from '../../src/object.js';
import { fixture } from './fixture.js';

const health = (name: string) => computeHealth(fixture('generic', name));

describe('computeHealth generic rules', () => {
  it('reports a missing object as NotFound', () => {
    expect(computeHealth(undefined)).toEqual({ status: 'NotFound', message: 'Resource not found' });
    expect(computeHealth(null).status).toBe('NotFound');
  });

  it('notFoundHealth names the object that was looked for', () => {
    expect(notFoundHealth({ group: 'apps', kind: 'Deployment', namespace: 'web', name: 'api' })).toEqual({
      status: 'NotFound',
      message: 'Deployment.apps web/api not found',
    });
  });

  it('is InProgress with Reconciling=True, using its message and reason', () => {
    expect(health('reconciling')).toEqual({
      status: 'InProgress',
      message: 'Fetching revision main@sha1:abc123',
      reason: 'Progressing',
    });
  });

  it('is Failed with Stalled=True, using its message and reason', () => {
    expect(health('stalled')).toEqual({ status: 'Failed', message: 'spec.size must be positive', reason: 'InvalidSpec' });
  });

  it('is InProgress with Ready=False, carrying its reason and message', () => {
    expect(health('not-ready')).toEqual({
      status: 'InProgress',
      message: 'failed to download artifact: 503',
      reason: 'ArtifactFailed',
    });
  });

  it('is Current with Ready=True', () => {
    expect(health('ready')).toEqual({ status: 'Current', message: 'Applied revision: main@sha1:abc123' });
  });

  it('is InProgress when the latest generation is not observed, even if Ready=True', () => {
    expect(health('generation-behind')).toEqual({
      status: 'InProgress',
      message: 'Widget generation is 3, but latest observed generation is 2',
      reason: 'LatestGenerationNotObserved',
    });
  });

  it('is Current for kinds without status semantics', () => {
    expect(health('no-status')).toEqual({ status: 'Current', message: 'Resource is current' });
    expect(health('settings')).toEqual({ status: 'Current', message: 'Resource is always ready' });
  });

  it('dispatches on group and kind, so a custom kind named Deployment gets the generic rules', () => {
    expect(health('lookalike')).toEqual({ status: 'Current', message: 'Resource is current' });
  });

  it('is Terminating for any kind with a deletion timestamp, before any other rule', () => {
    const obj = fixture('generic', 'stalled');
    obj.metadata['deletionTimestamp'] = '2024-05-01T10:00:00Z';
    expect(computeHealth(obj).status).toBe('Terminating');
  });

  it('gives a condition without a message a message built from its type and reason', () => {
    const obj: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Progressing' }] },
    };
    expect(computeHealth(obj)).toEqual({ status: 'InProgress', message: 'Ready=Unknown: Progressing', reason: 'Progressing' });
  });

  it('is Unknown, not a throw, for input that is not a Kubernetes object', () => {
    expect(computeHealth({ metadata: { name: 'x' } } as unknown as KubeObject).status).toBe('Unknown');
  });

  it('ignores malformed conditions and fields of the wrong type', () => {
    const obj: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'odd', generation: '2' },
      spec: { replicas: 'three' },
      status: { conditions: [null, 'Ready', { status: 'True' }], replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
    };
    expect(computeHealth(obj)).toMatchObject({ status: 'InProgress', message: 'Deployment not Available' });
  });

  it('does not modify the object it is given', () => {
    const obj = fixture('deployment', 'deadline-exceeded');
    const before = structuredClone(obj);
    computeHealth(obj);
    expect(obj).toEqual(before);
  });
});
