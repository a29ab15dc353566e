import { describe, expect, it } from 'vitest';
import { computeHealth } from '../../src/health/compute-health.js';
import type { KubeObject } from '../../src/object.js';

const certificate = (ready: 'True' | 'False'): KubeObject => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'web', namespace: 'shop', generation: 2 },
  status: { observedGeneration: 1, conditions: [{ type: 'Issuing', status: ready === 'True' ? 'False' : 'True' }] },
});

describe('custom health checks', () => {
  it('are consulted first, by group/Kind, before every built-in rule', () => {
    const checks = { 'cert-manager.io/Certificate': (obj: KubeObject) => ((obj['status'] as { conditions: { type: string; status: string }[] }).conditions[0]?.status === 'True' ? { status: 'InProgress' as const, message: 'issuing' } : { status: 'Current' as const, message: 'issued' }) };
    // Built in: the generation is not observed yet.
    expect(computeHealth(certificate('True')).status).toBe('InProgress');
    expect(computeHealth(certificate('True'), { checks })).toEqual({ status: 'Current', message: 'issued' });
    expect(computeHealth(certificate('False'), { checks })).toEqual({ status: 'InProgress', message: 'issuing' });
  });

  it('fall through to the built-in rules when they return undefined', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } };
    expect(computeHealth(cm, { checks: { ConfigMap: () => undefined } }).status).toBe('Current');
  });

  it('a LoadBalancer Service need not wait for an address on clusters without a load-balancer controller', () => {
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', clusterIP: '10.0.0.1' } };
    expect(computeHealth(svc).status).toBe('InProgress');
    expect(computeHealth(svc, { waitForLoadBalancer: false }).status).toBe('Current');
  });
});
