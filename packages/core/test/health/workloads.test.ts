import { describe, expect, it } from 'vitest';
import { computeHealth } from '../../src/health/compute-health.js';
import { fixture } from './fixture.js';

describe('StatefulSet health', () => {
  const health = (name: string) => computeHealth(fixture('stateful-set', name));

  it('is Current when all replicas are ready, current and on the update revision', () => {
    expect(health('all-current')).toEqual({ status: 'Current', message: 'All replicas scheduled as expected. Replicas: 3' });
  });

  it('is InProgress while replicas are not ready', () => {
    expect(health('not-ready')).toMatchObject({ status: 'InProgress', message: 'Ready: 1/3' });
  });

  it('is InProgress while the update revision is rolling out', () => {
    expect(health('revision-rolling')).toMatchObject({ status: 'InProgress', message: 'Waiting for updated revision to match current', reason: 'RevisionMismatch' });
  });

  it('is Current once the pods above the partition are updated', () => {
    expect(health('partition-done')).toEqual({ status: 'Current', message: 'Partition rollout complete. updated: 2' });
  });

  it('is Current under the OnDelete strategy, whose updates are left to the user', () => {
    expect(health('on-delete')).toEqual({ status: 'Current', message: 'StatefulSet is using the ondelete update strategy' });
  });
});

describe('DaemonSet health', () => {
  const health = (name: string) => computeHealth(fixture('daemon-set', name));

  it('is Current when every scheduled pod is updated, available and ready', () => {
    expect(health('all-ready')).toEqual({ status: 'Current', message: 'All replicas scheduled as expected. Replicas: 3' });
  });

  it('is InProgress while pods are being updated', () => {
    expect(health('updating')).toMatchObject({ status: 'InProgress', message: 'Updated: 2/3', reason: 'LessUpdated' });
  });

  it('is InProgress until the controller has observed it and reports the desired number scheduled', () => {
    expect(health('not-observed')).toMatchObject({ status: 'InProgress', message: 'DaemonSet status.observedGeneration not found' });
    expect(health('no-desired-number')).toMatchObject({ status: 'InProgress', message: 'Missing .status.desiredNumberScheduled' });
  });

  it('is not Current without generation fields, even with every replica ready (kstatus)', () => {
    expect(health('no-generation')).toMatchObject({ status: 'InProgress', reason: 'NoGeneration' });
  });
});

describe('ReplicaSet health', () => {
  const health = (name: string) => computeHealth(fixture('replica-set', name));

  it('is Current when all replicas are labelled, available and ready', () => {
    expect(health('available')).toEqual({ status: 'Current', message: 'ReplicaSet is available. Replicas: 2' });
  });

  it('is InProgress with a ReplicaFailure condition, since the controller keeps retrying', () => {
    expect(health('quota-exceeded')).toMatchObject({ status: 'InProgress', message: 'Replica Failure condition. Check Pods' });
  });

  it('is InProgress while replicas are not ready', () => {
    expect(health('not-ready')).toMatchObject({ status: 'InProgress', message: 'Ready: 1/2' });
  });
});

describe('Pod health', () => {
  const health = (name: string) => computeHealth(fixture('pod', name));

  it('is Current when running and Ready', () => {
    expect(health('ready')).toEqual({ status: 'Current', message: 'Pod is Ready' });
  });

  it('is InProgress when running but not Ready', () => {
    expect(health('starting')).toMatchObject({ status: 'InProgress', message: 'Pod is running but is not Ready' });
  });

  it('is Failed when containers are in CrashLoopBackOff, naming them', () => {
    expect(health('crash-looping')).toEqual({
      status: 'Failed',
      message: 'Containers in CrashLoop state: app,worker',
      reason: 'ContainerCrashLooping',
    });
  });

  it('is Current once it has Succeeded', () => {
    expect(health('succeeded')).toEqual({ status: 'Current', message: 'Pod has completed successfully' });
  });

  it('is Failed in the Failed phase, with the kubelet reason', () => {
    expect(health('evicted')).toEqual({
      status: 'Failed',
      message: 'Pod has completed, but not successfully: The node was low on resource: memory.',
      reason: 'Evicted',
    });
  });

  it('is Failed when it cannot be scheduled, after kstatus\' 15-second grace for new Pods', () => {
    const created = Date.parse('2026-01-01T00:00:00Z');
    expect(health('unschedulable')).toMatchObject({ status: 'Failed', message: 'Pod could not be scheduled' });
    expect(computeHealth(fixture('pod', 'unschedulable'), { now: created + 5_000 })).toMatchObject({ status: 'InProgress', message: 'Pod is in the Pending phase' });
    expect(computeHealth(fixture('pod', 'unschedulable'), { now: created + 16_000 })).toMatchObject({ status: 'Failed' });
  });

  it('is InProgress while Pending', () => {
    expect(health('pending')).toMatchObject({ status: 'InProgress', message: 'Pod is in the Pending phase' });
  });

  it('is InProgress before the kubelet has reported a phase', () => {
    expect(health('not-observed')).toMatchObject({ status: 'InProgress', message: 'Pod phase not available' });
  });

  it('is Unknown in a phase Kubernetes does not define', () => {
    expect(health('odd-phase')).toMatchObject({ status: 'Unknown', message: 'Unknown Pod phase Exploded' });
  });
});

describe('Job health', () => {
  const health = (name: string) => computeHealth(fixture('job', name));

  it('is Current once Complete', () => {
    expect(health('complete')).toEqual({ status: 'Current', message: 'Job Completed. succeeded: 3/3' });
  });

  it('is Failed with a Failed condition, carrying its reason', () => {
    expect(health('failed')).toEqual({ status: 'Failed', message: 'Job Failed. failed: 3/1', reason: 'BackoffLimitExceeded' });
  });

  it('is InProgress until started', () => {
    expect(health('not-started')).toMatchObject({ status: 'InProgress', message: 'Job not started' });
  });

  it('is Current when suspended on purpose (spec.suspend and Suspended=True), as kstatus', () => {
    expect(health('suspended')).toEqual({ status: 'Current', message: 'Job is suspended' });
  });

  it('is Current while running, as kstatus: a running Job is what its spec asks for', () => {
    expect(health('running')).toEqual({ status: 'Current', message: 'Job in progress. success:1, active: 2, failed: 0' });
  });
});

describe('CronJob health', () => {
  it('is always Current', () => {
    expect(computeHealth(fixture('cron-job', 'nightly'))).toEqual({ status: 'Current', message: 'Resource is always ready' });
  });

  it('is Terminating when being deleted', () => {
    expect(computeHealth(fixture('cron-job', 'being-deleted')).status).toBe('Terminating');
  });
});
