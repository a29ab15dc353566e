import { posix } from 'node:path';
import picomatch from 'picomatch';
import { AbortedError, ConvergeError, ManifestSyntaxError, RenderError } from './errors.js';
import { assertUnique } from './internal/assert-unique.js';
import { isUnder, normalizeTreePath } from './internal/tree-path.js';
import type { KubeObject } from './object.js';
import { parseManifests } from './parse-manifests.js';
import { named, type Renderer } from './renderer.js';

/** Options for {@link yamlFiles}. */
export interface YamlFilesOptions {
  /**
   * The directory inside the artifact to render; `include` and `exclude` match paths
   * relative to it.
   * @default '' (the artifact's root)
   */
  path?: string;
  /**
   * Globs (picomatch) of the files to read. Files and directories starting with `.` are not
   * matched by `*` or `**`.
   * @default ['**\/*.yaml', '**\/*.yml', '**\/*.json']
   */
  include?: string[];
  /**
   * Globs (picomatch, dotfiles matched too) of files to leave out even if included.
   * @default []
   */
  exclude?: string[];
  /**
   * Called for each file or directory that looks like desired state but is not rendered
   * because it is not plain manifests: `kustomization.yaml`, Helm chart directories (any
   * directory holding a `Chart.yaml`, skipped whole), Helm `values.yaml` files and
   * `.sourceignore`. `path` is relative to the artifact's root. Excluded files are not reported.
   * @default () => {} (skip quietly)
   */
  onSkip?: (path: string, reason: string) => void;
}

/** Default include globs of {@link yamlFiles}. */
const DEFAULT_INCLUDE = ['**/*.yaml', '**/*.yml', '**/*.json'];

const KUSTOMIZATION_FILES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);
const VALUES_FILES = new Set(['values.yaml', 'values.yml', 'values.schema.json']);

/**
 * A renderer for plain Kubernetes manifests: every YAML and JSON file under `path`, each
 * possibly holding several documents, `List` kinds flattened.
 *
 * Objects come out in a deterministic order (by file path, then document order) with their
 * origin recorded (see `originOf`). Files that are not plain manifests are skipped and
 * reported through `onSkip` rather than applied by mistake.
 *
 * @throws {@link ManifestSyntaxError} (`YAML_SYNTAX`) for malformed YAML or non-UTF-8 files.
 * @throws {@link InvalidObjectError} (`INVALID_OBJECT`) for a document missing `apiVersion`,
 *   `kind` or `metadata.name`.
 * @throws {@link DuplicateObjectError} (`DUPLICATE_OBJECT`) when two documents declare the
 *   same object; `data.position` is the second, `data.first` the first.
 * @throws {@link RenderError} (`RENDER_FAILED`) when `path` does not exist in the artifact.
 * @example
 * ```ts
 * const render = pipe(
 *   yamlFiles({ path: 'deploy', exclude: ['**\/*.test.yaml'], onSkip: (file, why) => console.warn(`skipped ${file}: ${why}`) }),
 *   setNamespace('web'),
 * );
 * ```
 */
export function yamlFiles(options: YamlFilesOptions = {}): Renderer {
  const base = normalizeTreePath(options.path ?? '', 'the artifact');
  const included = picomatch(options.include ?? DEFAULT_INCLUDE);
  const excluded = options.exclude?.length ? picomatch(options.exclude, { dot: true }) : () => false;
  const onSkip = options.onSkip ?? (() => {});
  const decoder = new TextDecoder('utf-8', { fatal: true });

  return named('yamlFiles', async ({ artifact, signal }) => {
    let files: string[];
    try {
      files = [...(await artifact.files.list(base))].sort();
    } catch (error) {
      if (error instanceof ConvergeError && error.code === 'FILE_NOT_FOUND') {
        throw new RenderError(
          `yamlFiles: ${base} is not a directory in ${artifact.source} at ${artifact.revision}; check the path option`,
          { cause: error, data: { position: { file: base } } },
        );
      }
      throw error;
    }
    const relativeOf = (file: string) => (base === '' ? file : file.slice(base.length + 1));
    const chartDirs = files
      .filter((file) => posix.basename(file) === 'Chart.yaml' && !excluded(relativeOf(file)))
      .map((file) => posix.dirname(file))
      .map((dir) => (dir === '.' ? '' : dir));
    const reportedCharts = new Set<string>();

    const objects: KubeObject[] = [];
    for (const file of files) {
      if (signal?.aborted) throw new AbortedError('yamlFiles: rendering was aborted');
      const relative = relativeOf(file);
      if (excluded(relative)) continue;
      const name = posix.basename(file);
      if (name === '.sourceignore') {
        onSkip(file, '.sourceignore is not interpreted by yamlFiles; list those files in the exclude option instead');
        continue;
      }
      if (!included(relative)) continue;
      const chart = chartDirs.find((dir) => isUnder(file, dir));
      if (chart !== undefined) {
        if (!reportedCharts.has(chart)) {
          reportedCharts.add(chart);
          onSkip(chart === '' ? '.' : chart, 'a Helm chart directory (it has a Chart.yaml); render it with helmChart() instead');
        }
        continue;
      }
      if (KUSTOMIZATION_FILES.has(name)) {
        onSkip(file, 'a Kustomize kustomization, not a Kubernetes object; yamlFiles does not run Kustomize, so its resources, patches and generators are not applied');
        continue;
      }
      if (VALUES_FILES.has(name)) {
        onSkip(file, 'a Helm values file, not a Kubernetes object; pass it to helmChart() through valuesFiles');
        continue;
      }

      let text: string;
      try {
        text = decoder.decode(await artifact.files.read(file));
      } catch (error) {
        if (error instanceof ConvergeError) throw error;
        throw new ManifestSyntaxError(`${file}: not valid UTF-8 text; save it as UTF-8`, { file }, { cause: error });
      }
      objects.push(...parseManifests(text, file));
      // Parsing is synchronous work; between files the process answers its I/O (a request the
      // pass has in flight, watch events, a Lease renewal) instead of waiting for the whole render.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    assertUnique(objects);
    return objects;
  });
}
