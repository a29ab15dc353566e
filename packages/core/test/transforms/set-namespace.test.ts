import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/file-tree.js';
import { memoryFileTree } from '../../src/memory-file-tree.js';
import type { KubeObject } from '../../src/object.js';
import { originOf, setOrigin } from '../../src/origin.js';
import { isClusterScoped } from '../../src/transforms/cluster-scoped-kinds.js';
import { setNamespace } from '../../src/transforms/set-namespace.js';

const ctx = { artifact: { source: 'test', revision: '1', files: memoryFileTree({}) } satisfies Artifact };
const obj = (apiVersion: string, kind: string, name: string, namespace?: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace && { namespace }) },
  ...extra,
});
const namespaces = (objects: KubeObject[]) => objects.map((o) => `${o.kind}:${o.metadata.namespace ?? '-'}`);

describe('setNamespace', () => {
  it('sets the namespace of namespaced objects and leaves cluster-scoped kinds without one', async () => {
    const input = [
      obj('v1', 'ConfigMap', 'a'),
      obj('apps/v1', 'Deployment', 'b'),
      obj('v1', 'Namespace', 'team'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'r'),
      obj('rbac.authorization.k8s.io/v1', 'Role', 'r'),
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
      obj('storage.k8s.io/v1', 'StorageClass', 'fast'),
      obj('example.com/v1', 'Widget', 'w'),
    ];
    const output = await setNamespace('team')(input, ctx);
    expect(namespaces(output)).toEqual([
      'ConfigMap:team',
      'Deployment:team',
      'Namespace:-',
      'ClusterRole:-',
      'Role:team',
      'CustomResourceDefinition:-',
      'StorageClass:-',
      'Widget:team',
    ]);
  });

  it('keeps namespaces set in the manifests unless told to override them', async () => {
    const input = [obj('v1', 'ConfigMap', 'a', 'other')];
    expect(namespaces(await setNamespace('team')(input, ctx))).toEqual(['ConfigMap:other']);
    expect(namespaces(await setNamespace('team', { override: true })(input, ctx))).toEqual(['ConfigMap:team']);
  });

  it('treats kinds listed in clusterScoped as cluster-scoped, by group/Kind or by bare Kind', async () => {
    const input = [obj('cert-manager.io/v1', 'ClusterIssuer', 'le'), obj('example.com/v1', 'Global', 'g'), obj('cert-manager.io/v1', 'Issuer', 'i')];
    const output = await setNamespace('team', { clusterScoped: ['cert-manager.io/ClusterIssuer', 'Global'] })(input, ctx);
    expect(namespaces(output)).toEqual(['ClusterIssuer:-', 'Global:-', 'Issuer:team']);
  });

  it('reads the scope of custom kinds from CRDs in the same render', async () => {
    const crd = (kind: string, scope: string) =>
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${kind.toLowerCase()}s.example.com`, undefined, {
        spec: { group: 'example.com', scope, names: { kind, plural: `${kind.toLowerCase()}s` } },
      });
    const input = [crd('Tenant', 'Cluster'), crd('Widget', 'Namespaced'), obj('example.com/v1', 'Tenant', 't'), obj('example.com/v1', 'Widget', 'w'), obj('other.io/v1', 'Tenant', 'x')];
    expect(namespaces(await setNamespace('team')(input, ctx))).toEqual(['CustomResourceDefinition:-', 'CustomResourceDefinition:-', 'Tenant:-', 'Widget:team', 'Tenant:team']);
  });

  it('returns copies: the input objects are not changed and keep their origins', async () => {
    const input = setOrigin(obj('v1', 'ConfigMap', 'a'), { file: 'a.yaml', line: 3 });
    const [output] = await setNamespace('team')([input], ctx);
    expect(input.metadata.namespace).toBeUndefined();
    expect(output!.metadata.namespace).toBe('team');
    expect(originOf(output!)).toEqual({ file: 'a.yaml', line: 3 });
  });

  it('fails with DUPLICATE_OBJECT when two objects become the same object once namespaced', async () => {
    const input = [setOrigin(obj('v1', 'ConfigMap', 'a'), { file: 'a.yaml', line: 1 }), setOrigin(obj('v1', 'ConfigMap', 'a', 'team'), { file: 'b.yaml', line: 5 })];
    await expect(async () => setNamespace('team')(input, ctx)).rejects.toMatchObject({
      code: 'DUPLICATE_OBJECT',
      data: { position: { file: 'b.yaml', line: 5 }, first: { file: 'a.yaml', line: 1 } },
    });
  });

  it('rejects a namespace name Kubernetes would not accept', () => {
    expect(() => setNamespace('Team_A')).toThrow(TypeError);
    expect(() => setNamespace('')).toThrow(TypeError);
  });
});

describe('isClusterScoped', () => {
  it('knows built-in kinds by group and kind', () => {
    expect(isClusterScoped({ group: '', kind: 'Namespace' })).toBe(true);
    expect(isClusterScoped({ group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' })).toBe(true);
    expect(isClusterScoped({ group: 'networking.k8s.io', kind: 'IngressClass' })).toBe(true);
    expect(isClusterScoped({ group: 'networking.k8s.io', kind: 'Ingress' })).toBe(false);
    // The same kind name in another group is not the built-in one.
    expect(isClusterScoped({ group: 'example.com', kind: 'Namespace' })).toBe(false);
  });

  it('accepts extra kinds as group/Kind or bare Kind', () => {
    expect(isClusterScoped({ group: 'example.com', kind: 'Tenant' }, ['example.com/Tenant'])).toBe(true);
    expect(isClusterScoped({ group: 'other.io', kind: 'Tenant' }, ['example.com/Tenant'])).toBe(false);
    expect(isClusterScoped({ group: 'other.io', kind: 'Tenant' }, ['Tenant'])).toBe(true);
  });
});
