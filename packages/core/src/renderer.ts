import type { Artifact } from './file-tree.js';
import type { KubeObject } from './object.js';

/** What a renderer is given. */
export interface RenderContext {
  artifact: Artifact;
  signal?: AbortSignal;
}

/** Turns an artifact into the desired objects (plain YAML, Helm, Kustomize…). */
export type Renderer = (ctx: RenderContext) => Promise<KubeObject[]>;

/** A step applied to rendered objects (set namespace, add labels, substitute variables…). */
export type Transform = (objects: KubeObject[], ctx: RenderContext) => KubeObject[] | Promise<KubeObject[]>;

/**
 * A renderer that runs `render` and then each transform in order.
 *
 * @example
 * ```ts
 * const render = pipe(yamlFiles({ path: 'deploy' }), setNamespace('web'), addLabels({ team: 'a' }));
 * ```
 */
export function pipe(render: Renderer, ...transforms: Transform[]): Renderer {
  return async (ctx) => {
    let objects = await render(ctx);
    for (const transform of transforms) objects = await transform(objects, ctx);
    return objects;
  };
}

/** A renderer that concatenates the output of several renderers (e.g. plain YAML plus a Helm chart). */
export function combine(...renderers: Renderer[]): Renderer {
  return async (ctx) => (await Promise.all(renderers.map((render) => render(ctx)))).flat();
}
