import type { HelmPostRenderer } from '@converge/helm-render';
import { defaultKustomizeEngine, type KustomizeEngine } from './kustomize-engine.js';
import { DEFAULT_KUSTOMIZE_LIMITS, type KustomizeImage, type KustomizeLabel, type KustomizePatch } from './kustomize-options.js';

/** Options of {@link kustomizePostRenderer}: what Flux's HelmRelease `postRenderers[].kustomize` holds. */
export interface KustomizePostRendererOptions {
  /** Patches (strategic merge or JSON 6902, with or without a target). @default [] */
  patches?: KustomizePatch[];
  /** Image overrides. @default [] */
  images?: KustomizeImage[];
  /** Labels. @default [] */
  labels?: KustomizeLabel[];
  /** The engine. @default the process-wide {@link defaultKustomizeEngine} */
  engine?: KustomizeEngine;
  /** Bounds of the kustomize build. @default as {@link kustomize}'s */
  maxMemoryBytes?: number;
  /** @default 67108864 (64 MiB) */
  maxOutputBytes?: number;
  /** @default 60000 */
  timeoutMs?: number;
}

const encoder = new TextEncoder();

/**
 * A Helm post-renderer that runs the chart's output through Kustomize's own engine with the
 * given patches, images and labels, as Flux's HelmRelease `postRenderers` do: the manifests
 * become the only resource of a kustomization; objects keep Helm's order (no reordering,
 * like Flux's post-renderer).
 *
 * @example
 * ```ts
 * helmChart({
 *   chart: 'oci://registry.example.com/charts/web', releaseName: 'web',
 *   postRender: kustomizePostRenderer({
 *     images: [{ name: 'nginx', newTag: '1.27.1' }],
 *     patches: [{ target: { kind: 'Deployment' }, patch: '- op: add\n  path: /spec/template/spec/priorityClassName\n  value: high\n' }],
 *   }),
 * });
 * ```
 */
export function kustomizePostRenderer(options: KustomizePostRendererOptions): HelmPostRenderer {
  const kustomization = JSON.stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['helm-output.yaml'],
    ...(options.patches?.length && { patches: options.patches }),
    ...(options.images?.length && { images: options.images }),
    ...(options.labels?.length && { labels: options.labels }),
  });
  const limits = {
    maxMemoryBytes: options.maxMemoryBytes ?? DEFAULT_KUSTOMIZE_LIMITS.maxMemoryBytes,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_KUSTOMIZE_LIMITS.maxOutputBytes,
    timeoutMs: options.timeoutMs ?? DEFAULT_KUSTOMIZE_LIMITS.timeoutMs,
  };
  return async (manifest, { signal }) => {
    const engine = options.engine ?? defaultKustomizeEngine();
    const out = await engine.build({
      files: [
        { name: 'kustomization.yaml', data: encoder.encode(kustomization) },
        { name: 'helm-output.yaml', data: encoder.encode(manifest) },
      ],
      path: '.',
      loadRestrictor: 'rootOnly',
      reorder: 'none',
      generateKustomization: false,
      enableHelm: false,
      limits,
      signal,
    });
    return out.yaml;
  };
}
