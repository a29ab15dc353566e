/** What a {@link HelmPostRenderer} is told about the render it transforms. */
export interface HelmPostRenderContext {
  /** The chart, as given to `helmChart`. */
  chart: string;
  releaseName: string;
  namespace: string;
  signal?: AbortSignal | undefined;
}

/**
 * Transforms a chart's rendered manifests (what `helm template` prints) before they are
 * parsed into objects, like `helm template --post-renderer` and Flux's HelmRelease
 * `postRenderers`. Returns the new manifests. `@converge/kustomize`'s `kustomizePostRenderer()`
 * applies kustomize patches, images and labels with Kustomize's own engine.
 *
 * @example
 * ```ts
 * helmChart({ chart: 'charts/web', releaseName: 'web',
 *   postRender: kustomizePostRenderer({ images: [{ name: 'nginx', newTag: '1.27' }] }) });
 * ```
 */
export type HelmPostRenderer = (manifest: string, context: HelmPostRenderContext) => Promise<string>;
