import { describe, expect, it } from 'vitest';
import { OWNER_ANNOTATION, PRUNE_ANNOTATION } from '../../src/annotations.js';
import { DuplicateObjectError } from '../../src/errors.js';
import { refOf, type KubeObject } from '../../src/object.js';
import { plan } from '../../src/plan.js';

const cm = (name: string, data: Record<string, string> = { a: '1' }, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'app', ...(annotations && { annotations }) },
  data,
});
const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } };
const crd: KubeObject = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' } };
const widget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'app' } };
const deploy: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'app' } };
const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'app' } };

describe('plan', () => {
  it('creates what is missing, updates what differs and leaves the rest unchanged', () => {
    const p = plan({ desired: [cm('new'), cm('changed', { a: '2' }), cm('same')], live: [cm('changed'), cm('same')], inventory: [] });
    expect(p.changes.map((c) => [c.action, c.ref.name])).toEqual([
      ['create', 'new'],
      ['update', 'changed'],
      ['unchanged', 'same'],
    ]);
    expect(p.counts).toEqual({ created: 1, updated: 1, deleted: 0, unchanged: 1 });
    const update = p.changes[1];
    expect(update?.action === 'update' && update.patch).toEqual([{ op: 'replace', path: '/data/a', value: '2' }]);
  });

  it('orders Namespaces and CRDs first, then Helm install order, unknown kinds last', () => {
    const p = plan({ desired: [widget, deploy, svc, cm('c'), crd, ns], live: [], inventory: [] });
    expect(p.changes.map((c) => c.ref.kind)).toEqual(['Namespace', 'CustomResourceDefinition', 'ConfigMap', 'Service', 'Deployment', 'Widget']);
  });

  it('prunes only inventory objects, in reverse apply order, and only when asked', () => {
    const live = [ns, cm('old'), deploy, cm('stranger')];
    const inventory = [ns, cm('old'), deploy].map(refOf);
    const withPrune = plan({ desired: [cm('keep')], live, inventory, prune: true });
    expect(withPrune.changes.filter((c) => c.action === 'delete').map((c) => c.ref.kind)).toEqual(['Deployment', 'ConfigMap', 'Namespace']);
    expect(withPrune.changes.some((c) => c.ref.name === 'stranger')).toBe(false);

    const withoutPrune = plan({ desired: [cm('keep')], live, inventory });
    expect(withoutPrune.changes.some((c) => c.action === 'delete')).toBe(false);
    expect(withoutPrune.orphaned).toHaveLength(3);
  });

  it('never prunes an object annotated converge.dev/prune: disabled', () => {
    const kept = cm('kept', {}, { [PRUNE_ANNOTATION]: 'disabled' });
    const p = plan({ desired: [cm('x')], live: [kept], inventory: [refOf(kept)], prune: true });
    expect(p.changes.filter((c) => c.action === 'delete')).toEqual([]);
    expect(p.orphaned).toEqual([refOf(kept)]);
  });

  it('skips inventory objects that are already gone', () => {
    const p = plan({ desired: [cm('x')], live: [], inventory: [refOf(cm('gone'))], prune: true });
    expect(p.changes.map((c) => c.action)).toEqual(['create']);
  });

  it('reports objects owned by another reconciler as conflicts unless adopting, and never prunes them', () => {
    const theirs = cm('shared', { a: '1' }, { [OWNER_ANNOTATION]: 'other' });
    const mine = { ...cm('shared'), metadata: { ...cm('shared').metadata, annotations: { [OWNER_ANNOTATION]: 'me' } } };
    expect(plan({ desired: [mine], live: [theirs], inventory: [], owner: 'me' }).conflicts).toEqual([{ ref: refOf(theirs), owner: 'other' }]);
    expect(plan({ desired: [mine], live: [theirs], inventory: [], owner: 'me', adopt: true }).conflicts).toEqual([]);
    const pruned = plan({ desired: [cm('x')], live: [theirs], inventory: [refOf(theirs)], owner: 'me', prune: true });
    expect(pruned.changes.some((c) => c.action === 'delete')).toBe(false);
  });

  it('rejects two desired objects with the same identity', () => {
    expect(() => plan({ desired: [cm('a'), cm('a', { b: '2' })], live: [], inventory: [] })).toThrow(DuplicateObjectError);
  });

  it('treats objects of different API versions in one group as the same object', () => {
    const v1 = { ...deploy, spec: { replicas: 1 } };
    const beta = { ...deploy, apiVersion: 'apps/v1beta2', spec: { replicas: 1 } };
    expect(plan({ desired: [v1], live: [beta], inventory: [] }).changes[0]!.action).toBe('unchanged');
  });
});
