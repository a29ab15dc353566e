import { describe, expect, it } from 'vitest';
import { computeHealth } from '../../src/health/compute-health.js';
import { fixture } from './fixture.js';

const health = (name: string) => computeHealth(fixture('deployment', name));

describe('Deployment health', () => {
  it('is Current when every replica is updated, ready and available', () => {
    expect(health('available')).toEqual({ status: 'Current', message: 'Deployment is available. Replicas: 3' });
  });

  it('is InProgress while replicas are still being updated', () => {
    expect(health('rolling-out')).toMatchObject({ status: 'InProgress', message: 'Updated: 1/3', reason: 'LessUpdated' });
  });

  it('is InProgress while fewer replicas are ready than wanted', () => {
    expect(health('not-ready')).toMatchObject({ status: 'InProgress', message: 'Ready: 1/3', reason: 'LessReady' });
  });

  it('is InProgress while old pods are still terminating', () => {
    expect(health('old-pods-terminating')).toMatchObject({ status: 'InProgress', message: 'Pending termination: 1' });
  });

  it('is InProgress until the new ReplicaSet is reported available when a progress deadline is set', () => {
    expect(health('new-replicaset-not-available')).toMatchObject({ status: 'InProgress', message: 'ReplicaSet not Available' });
  });

  it('is InProgress with no status yet: no replicas exist', () => {
    expect(health('no-status-yet')).toMatchObject({ status: 'InProgress', message: 'replicas: 0/2', reason: 'LessReplicas' });
  });

  it('is Failed when the progress deadline is exceeded, even mid-rollout', () => {
    expect(health('deadline-exceeded')).toEqual({
      status: 'Failed',
      message: 'Progress deadline exceeded',
      reason: 'ProgressDeadlineExceeded',
    });
  });

  it('is InProgress while the controller has not observed the latest generation, whatever the replica counts', () => {
    expect(health('spec-not-observed')).toEqual({
      status: 'InProgress',
      message: 'Deployment generation is 5, but latest observed generation is 4',
      reason: 'LatestGenerationNotObserved',
    });
  });

  it('is Terminating once it has a deletion timestamp', () => {
    expect(health('being-deleted')).toEqual({ status: 'Terminating', message: 'Resource scheduled for deletion' });
  });

  it('without spec.replicas expects one replica, as the controller does', () => {
    const obj = fixture('deployment', 'available');
    delete (obj['spec'] as Record<string, unknown>)['replicas'];
    expect(computeHealth(obj)).toMatchObject({ status: 'InProgress', message: 'Pending termination: 2' });
  });

  it('treats extensions/v1beta1 Deployments the same way', () => {
    const obj = { ...fixture('deployment', 'not-ready'), apiVersion: 'extensions/v1beta1' };
    expect(computeHealth(obj)).toMatchObject({ status: 'InProgress', message: 'Ready: 1/3' });
  });
});
