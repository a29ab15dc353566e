import { inStage } from './errors.js';
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
  const piped: Renderer = async (ctx) => {
    let objects = await inStage('render', pluginName(render, 'renderer'), () => render(ctx));
    for (const [i, transform] of transforms.entries()) {
      const input = objects;
      objects = await inStage('transform', pluginName(transform, `transform #${i + 1}`), () => transform(input, ctx));
    }
    return objects;
  };
  return named(`pipe(${pluginName(render, 'renderer')})`, piped);
}

/** How errors name a plugin function: its name, else `fallback`. */
export function pluginName(fn: { name: string }, fallback: string): string {
  return fn.name || fallback;
}

/**
 * Gives a renderer or transform a name, so errors and events can say which one failed
 * (`render yamlFiles failed: …`). Returns `fn`.
 *
 * @typeParam F - the function's type, kept as it is.
 * @example
 * ```ts
 * const render = named('my-renderer', async () => []);
 * ```
 */
export function named<F extends (...args: never[]) => unknown>(name: string, fn: F): F {
  Object.defineProperty(fn, 'name', { value: name, configurable: true });
  return fn;
}

/** A renderer that concatenates the output of several renderers (e.g. plain YAML plus a Helm chart). */
export function combine(...renderers: Renderer[]): Renderer {
  const combined: Renderer = async (ctx) =>
    (await Promise.all(renderers.map((render, i) => inStage('render', pluginName(render, `renderer #${i + 1}`), () => render(ctx))))).flat();
  return named(`combine(${renderers.map((r, i) => pluginName(r, `renderer #${i + 1}`)).join(', ')})`, combined);
}
