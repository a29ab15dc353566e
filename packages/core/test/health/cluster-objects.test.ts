import { describe, expect, it } from 'vitest';
import { computeHealth } from '../../src/health/compute-health.js';
import { fixture } from './fixture.js';

describe('Service health', () => {
  const health = (name: string) => computeHealth(fixture('service', name));

  it('is Current for a ClusterIP Service', () => {
    expect(health('cluster-ip')).toEqual({ status: 'Current', message: 'Service is ready' });
  });

  it('is Current for a LoadBalancer with an ingress IP', () => {
    expect(health('lb-ready')).toEqual({ status: 'Current', message: 'Service is ready. LoadBalancer ingress: 203.0.113.7' });
  });

  it('is Current for a LoadBalancer with an ingress hostname', () => {
    expect(health('lb-hostname')).toMatchObject({ status: 'Current', message: 'Service is ready. LoadBalancer ingress: a1b2.elb.example.com' });
  });

  it('is InProgress for a LoadBalancer still waiting for its ingress address', () => {
    expect(health('lb-pending')).toMatchObject({ status: 'InProgress', message: 'LoadBalancer ingress not assigned' });
  });

  it('is InProgress for a LoadBalancer with no cluster IP yet', () => {
    expect(health('lb-no-cluster-ip')).toMatchObject({ status: 'InProgress', message: 'ClusterIP not set. Service type: LoadBalancer' });
  });
});

describe('PersistentVolumeClaim health', () => {
  const health = (name: string) => computeHealth(fixture('pvc', name));

  it('is Current when Bound', () => {
    expect(health('bound')).toEqual({ status: 'Current', message: 'PVC is Bound' });
  });

  it('is InProgress while Pending', () => {
    expect(health('pending')).toMatchObject({ status: 'InProgress', message: 'PVC is not Bound. phase: Pending' });
  });

  it('is Failed when a provisioner marks it Stalled', () => {
    expect(health('stalled')).toEqual({ status: 'Failed', message: 'storageclass "fast" not found', reason: 'ProvisioningFailed' });
  });
});

describe('CustomResourceDefinition health', () => {
  const health = (name: string) => computeHealth(fixture('crd', name));

  it('is Current once Established', () => {
    expect(health('widgets.example.com')).toEqual({ status: 'Current', message: 'CRD is established' });
  });

  it('is InProgress while Installing', () => {
    expect(health('gadgets.example.com')).toMatchObject({ status: 'InProgress', message: 'Install in progress' });
  });

  it('is Failed when its names are not accepted', () => {
    expect(health('clashes.example.com')).toEqual({ status: 'Failed', message: '"Widget" is already in use', reason: 'KindConflict' });
  });
});

describe('Namespace health', () => {
  const health = (name: string) => computeHealth(fixture('namespace', name));

  it('is Current when Active', () => {
    expect(health('active')).toEqual({ status: 'Current', message: 'Namespace is active' });
  });

  it('is Terminating when being deleted', () => {
    expect(health('terminating')).toEqual({ status: 'Terminating', message: 'Resource scheduled for deletion' });
  });

  it('is Terminating in the Terminating phase even without a deletion timestamp', () => {
    expect(health('terminating-phase-only')).toMatchObject({ status: 'Terminating', message: 'Namespace is terminating' });
  });
});
