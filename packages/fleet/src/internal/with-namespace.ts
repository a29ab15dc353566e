import { pipe, setNamespace, type KubeObject, type Renderer } from '@converge/core';
import type { AnyAppSpec } from '../app-spec.js';

/** Adds the application's namespace to its objects and, unless `createNamespace: false`, the Namespace itself. */
export function withNamespace(spec: AnyAppSpec, render: Renderer): Renderer {
  if (!spec.namespace) return render;
  const ns = spec.namespace;
  const namespaced = pipe(render, setNamespace(ns));
  if (spec.createNamespace === false) return namespaced;
  const namespaceObject: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  return async (ctx) => {
    const objects = await namespaced(ctx);
    return objects.some((o) => o.kind === 'Namespace' && o.metadata.name === ns) ? objects : [namespaceObject, ...objects];
  };
}
