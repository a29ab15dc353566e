import { posix } from 'node:path';
import { ConvergeError, named, parseManifests, type KubeObject, type Renderer } from '@converge/core';
import { kustomizeError } from './errors.js';
import { readTree } from './internal/artifact-files.js';
import { inflateHelmChart } from './internal/helm-charts.js';
import { defaultKustomizeEngine, type KustomizationOverrides } from './kustomize-engine.js';
import { DEFAULT_KUSTOMIZE_LIMITS, type KustomizeOptions } from './kustomize-options.js';
import { gitRemoteResolver } from './remote-resolver.js';
import { redactUrl } from './remote-url.js';

function validate(o: KustomizeOptions): void {
  const path = o.path ?? '.';
  if (posix.isAbsolute(path) || posix.normalize(path).startsWith('..')) {
    throw kustomizeError('KUSTOMIZE_INVALID_OPTIONS', `kustomize(): path "${path}" must be a folder inside the artifact`, { field: 'path' });
  }
  if (o.loadRestrictor !== undefined && o.loadRestrictor !== 'artifact' && o.loadRestrictor !== 'rootOnly') {
    throw kustomizeError('KUSTOMIZE_INVALID_OPTIONS', `kustomize(): loadRestrictor must be 'artifact' or 'rootOnly', not "${String(o.loadRestrictor)}"`, { field: 'loadRestrictor' });
  }
  for (const [name, value] of [['maxMemoryBytes', o.maxMemoryBytes], ['maxOutputBytes', o.maxOutputBytes], ['timeoutMs', o.timeoutMs]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw kustomizeError('KUSTOMIZE_INVALID_OPTIONS', `kustomize(): ${name} must be a positive number`, { field: name });
    }
  }
}

/** The options given in code, as fields of the root kustomization (Flux's spec fields). */
function overridesOf(o: KustomizeOptions): KustomizationOverrides | undefined {
  const v: KustomizationOverrides = {
    ...(o.namespace !== undefined && { namespace: o.namespace }),
    ...(o.images?.length && { images: o.images }),
    ...(o.patches?.length && { patches: o.patches }),
    ...(o.components?.length && { components: o.components }),
    ...(o.buildMetadata?.length && { buildMetadata: o.buildMetadata }),
    ...(o.labels?.length && { labels: o.labels }),
  };
  return Object.keys(v).length > 0 ? v : undefined;
}

/**
 * A renderer that runs `kustomize build` on a folder of the artifact with Kustomize's own
 * engine (`sigs.k8s.io/kustomize/api`, compiled to WebAssembly and shipped in this package):
 * no kustomize, git or helm binary is needed, and the output is byte for byte what
 * `kustomize build` prints, parsed into objects (each with its origin).
 *
 * Everything kustomize supports works because it is kustomize: resources and bases,
 * components, strategic merge and JSON 6902 patches, replacements, generators with hash
 * suffixes, name prefixes and suffixes, labels, images, replicas, `openapi:` schemas. Remote
 * bases (Git URLs, HTTP files) are fetched by `remote` (git-source by default), `helmCharts:`
 * rendered by helm-render's engine when `enableHelm` is set. The engine can read no file
 * outside the artifact.
 *
 * Each build is bounded by `maxMemoryBytes`, `maxOutputBytes` and `timeoutMs`; failures are
 * `KustomizeError`s naming the kustomization file and, where kustomize says it, the field.
 *
 * @example
 * ```ts
 * const reconciler = createReconciler({
 *   name: 'web-prod',
 *   source: gitSource({ url: 'https://git.example.com/platform/apps' }),
 *   render: kustomize({ path: 'apps/web/overlays/production', images: [{ name: 'web', newTag: '1.4.2' }] }),
 *   sink: kubeSink(),
 * });
 * ```
 */
export function kustomize(options: KustomizeOptions = {}): Renderer {
  validate(options);
  const path = posix.normalize(options.path ?? '.').replace(/\/+$/, '') || '.';
  const limits = {
    maxMemoryBytes: options.maxMemoryBytes ?? DEFAULT_KUSTOMIZE_LIMITS.maxMemoryBytes,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_KUSTOMIZE_LIMITS.maxOutputBytes,
    timeoutMs: options.timeoutMs ?? DEFAULT_KUSTOMIZE_LIMITS.timeoutMs,
  };
  const resolver = options.remote === false ? undefined : (options.remote ?? gitRemoteResolver());
  const overrides = overridesOf(options);

  return named('kustomize', async ({ artifact, signal }): Promise<KubeObject[]> => {
    signal?.throwIfAborted();
    const engine = options.engine ?? defaultKustomizeEngine();
    const out = await engine.build({
      files: await readTree(artifact.files, undefined, signal),
      path,
      loadRestrictor: options.loadRestrictor === 'rootOnly' ? 'rootOnly' : 'none',
      generateKustomization: options.generateKustomization ?? true,
      overrides,
      enableHelm: options.enableHelm ?? false,
      limits,
      signal,
      resolve: resolver && (async (url, kustomizationFile) => {
        try {
          return await resolver(url, { kustomizationFile, signal });
        } catch (err) {
          // Only the message crosses into the engine; credentials never do.
          throw new Error(redactUrl(err instanceof Error ? err.message : String(err)));
        }
      }),
      helm: (payload) => inflateHelmChart(payload, artifact.files, limits, signal),
    });
    const file = path === '.' ? 'kustomization.yaml' : `${path}/kustomization.yaml`;
    try {
      return parseManifests(out.yaml, file);
    } catch (err) {
      if (err instanceof ConvergeError) throw err;
      throw kustomizeError('KUSTOMIZE_BUILD_FAILED', `${file}: cannot read kustomize's output: ${String(err)}`, { position: { file } }, err);
    }
  });
}
