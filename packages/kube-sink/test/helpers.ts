import { createHash, randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { inheritOrigin } from '@converge/core';
import type { KubeObject, ObjectRef, ReconcileEvent, Renderer, Source } from '@converge/core';
import { kubeSink } from '../src/index.js';
import type { KubeRequestInfo, KubeSink, KubeSinkBaseOptions, KubeSinkTransportOptions } from '../src/index.js';

/** A fresh namespace name per test, so tests sharing one control plane never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A kube sink that records every request it sends. */
export function recordingSink(kubeConfig: KubeConfig, options: KubeSinkBaseOptions & KubeSinkTransportOptions = {}): {
  sink: KubeSink;
  requests: KubeRequestInfo[];
  writes(): KubeRequestInfo[];
} {
  const requests: KubeRequestInfo[] = [];
  const sink = kubeSink({
    kubeConfig,
    watch: { debounceMs: 100 },
    ...options,
    onRequest: (info) => {
      requests.push(info);
      options.onRequest?.(info);
    },
  });
  return { sink, requests, writes: () => requests.filter((r) => r.write) };
}

/**
 * Desired state held in memory: the source's revision is a digest of the objects, and the
 * renderer returns them. Tests change `objects` between passes.
 */
export function desiredState(initial: KubeObject[]): { objects: KubeObject[]; source: Source; render: Renderer } {
  const digest = (): string => createHash('sha256').update(JSON.stringify(state.objects)).digest('hex').slice(0, 12);
  const state: { objects: KubeObject[]; source: Source; render: Renderer } = {
    objects: initial,
    source: {
      id: 'memory',
      latestRevision: async () => digest(),
      fetch: async (revision?: string) => ({
        source: 'memory',
        revision: revision ?? digest(),
        files: { list: async () => [], read: async () => new Uint8Array() },
      }),
    },
    // Copies keep their origin (file:line), as a renderer's transforms do.
    render: async () => state.objects.map((o) => inheritOrigin(structuredClone(o), o)),
  };
  return state;
}

/** Collects reconciler events. */
export function eventLog(): { events: ReconcileEvent[]; push: (e: ReconcileEvent) => void } {
  const events: ReconcileEvent[] = [];
  return { events, push: (e) => events.push(e) };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function configMap(ns: string, name: string, data: Record<string, string>, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...extra }, data };
}

/** An Opaque Secret whose `value` is `value` (base64, as the API carries it). */
export function secret(ns: string, name: string, value: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', data: { value } };
}

/** The ref of Secret `name` in `ns`. */
export function secretRef(ns: string, name: string): ObjectRef {
  return { group: '', kind: 'Secret', namespace: ns, name };
}

export function deployment(ns: string, name: string, image = 'registry.example/app:1'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** Waits until `check` returns true, polling every 50 ms. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A namespaced CustomResourceDefinition with a `spec` of `size` and `color`, served as `v1`. */
export function crd(group: string, kind: string, plural: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string' } } } },
            },
          },
        },
      ],
    },
  };
}
