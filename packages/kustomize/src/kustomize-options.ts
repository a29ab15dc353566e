import type { KustomizeEngine } from './kustomize-engine.js';
import type { RemoteResolver } from './remote-resolver.js';

/** An image override, as in a kustomization's `images:` (and Flux's `spec.images`). */
export interface KustomizeImage {
  /** The image name to match, e.g. `ghcr.io/acme/api`. */
  name: string;
  /** Replace the name. */
  newName?: string;
  /** Replace the tag. */
  newTag?: string;
  /** Replace tag and digest with this digest. */
  digest?: string;
}

/** Which objects a patch applies to, as in a kustomization's `patches[].target`. */
export interface KustomizePatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

/** A patch, as in a kustomization's `patches:` (and Flux's `spec.patches`): strategic merge or JSON 6902. */
export interface KustomizePatch {
  /** The patch itself, YAML or JSON (a strategic merge patch or a JSON 6902 operation list). */
  patch: string;
  /** Which objects it applies to; without it, the patch names its object itself (strategic merge). */
  target?: KustomizePatchTarget;
  /** Patch options, e.g. `{ allowNameChange: true }`. */
  options?: Record<string, boolean>;
}

/** A label, as in a kustomization's `labels:`. */
export interface KustomizeLabel {
  pairs: Record<string, string>;
  /** Also write the labels into selectors. @default false */
  includeSelectors?: boolean;
  /** Also write the labels into templates. @default false */
  includeTemplates?: boolean;
}

/**
 * Options of {@link kustomize}. Everything but `path` has a default, chosen to match Flux's
 * kustomize-controller where it differs from `kustomize build`.
 */
export interface KustomizeOptions {
  /**
   * The folder in the artifact holding the kustomization, from the artifact's root.
   * @default '.'
   */
  path?: string;
  /**
   * Which files a kustomization may read:
   * - `'artifact'` — any file in the artifact (Flux's behaviour: kustomize's `LoadRestrictionsNone`
   *   on a file system that is only the artifact); nothing outside it, ever.
   * - `'rootOnly'` — only files in or below each kustomization's own folder (`kustomize build`'s
   *   default, `LoadRestrictionsRootOnly`); bases may still be anywhere in the artifact.
   * @default 'artifact'
   */
  loadRestrictor?: 'artifact' | 'rootOnly';
  /**
   * Render `helmCharts:` with Helm's engine from `@converge/helm-render` (`kustomize build
   * --enable-helm`, without a helm binary). Charts must be in the kustomization's `chartHome`
   * (`charts/` by default), as `kustomize build` leaves them after a pull.
   * @default false
   */
  enableHelm?: boolean;
  /**
   * Added to the root kustomization's `buildMetadata` (`originAnnotations`,
   * `transformerAnnotations`, `managedByLabel`).
   * @default []
   */
  buildMetadata?: Array<'originAnnotations' | 'transformerAnnotations' | 'managedByLabel'>;
  /**
   * Components added to the root kustomization, paths relative to its folder (Flux's `spec.components`).
   * @default []
   */
  components?: string[];
  /**
   * Sets the root kustomization's `namespace` (Flux's `spec.targetNamespace`).
   * @default the kustomization's own
   */
  namespace?: string;
  /** Image overrides appended to the root kustomization's `images` (Flux's `spec.images`). @default [] */
  images?: KustomizeImage[];
  /** Patches appended to the root kustomization's `patches` (Flux's `spec.patches`). @default [] */
  patches?: KustomizePatch[];
  /** Labels appended to the root kustomization's `labels`. @default [] */
  labels?: KustomizeLabel[];
  /**
   * For a folder with YAML files and no kustomization, generate one listing them (as Flux
   * does); with `false` such a folder is `KUSTOMIZE_NOT_FOUND`.
   * @default true
   */
  generateKustomization?: boolean;
  /**
   * Resolves remote `resources:` entries (Git URLs and HTTP files).
   * @default {@link gitRemoteResolver}`()`: Git through `@converge/git-source`, HTTP through `fetch`
   */
  remote?: RemoteResolver | false;
  /**
   * The engine. @default the process-wide {@link defaultKustomizeEngine}
   */
  engine?: KustomizeEngine;
  /**
   * Upper bound on the engine's whole memory for one build, in bytes (a hard cap).
   * @default 536870912 (512 MiB)
   */
  maxMemoryBytes?: number;
  /** Upper bound on the rendered output, in bytes. @default 67108864 (64 MiB) */
  maxOutputBytes?: number;
  /**
   * Upper bound on one build, in milliseconds, remote fetches included. @default 60000
   */
  timeoutMs?: number;
}

/** The bounds a build runs within when {@link KustomizeOptions} does not set them. */
export const DEFAULT_KUSTOMIZE_LIMITS = {
  maxMemoryBytes: 512 * 1024 * 1024,
  maxOutputBytes: 64 * 1024 * 1024,
  timeoutMs: 60_000,
} as const;
