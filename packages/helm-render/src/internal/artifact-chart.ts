import type { FileTree } from '@converge/core';
import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';
import { extractChartArchive, MAX_CHART_BYTES } from './chart-archive.js';

/**
 * Reads a chart from a folder (or a `.tgz` file) of an artifact: every file under the folder,
 * named relative to it. `.helmignore` is applied by the engine, as `helm` does for folders.
 */
export async function chartFromArtifact(tree: FileTree, path: string, signal?: AbortSignal): Promise<ChartFile[]> {
  const where = path === '' ? 'the artifact root' : path;
  if (path.endsWith('.tgz')) {
    let data: Uint8Array;
    try {
      data = await tree.read(path);
    } catch (err) {
      throw helmError('HELM_CHART_NOT_FOUND', `no chart archive at ${where} in the artifact`, { position: { file: path } }, err);
    }
    return extractChartArchive(data, path);
  }

  let paths: string[];
  try {
    paths = await tree.list(path === '' ? undefined : path);
  } catch (err) {
    throw helmError('HELM_CHART_NOT_FOUND', `no chart at ${where} in the artifact: the folder does not exist`, { position: { file: path } }, err);
  }
  const prefix = path === '' ? '' : `${path}/`;
  const relative = paths.map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p));
  if (!relative.includes('Chart.yaml')) {
    throw helmError('HELM_CHART_NOT_FOUND', `no chart at ${where} in the artifact: ${prefix}Chart.yaml not found`, {
      position: { file: `${prefix}Chart.yaml` },
    });
  }
  const files: ChartFile[] = [];
  let total = 0;
  for (const [i, name] of relative.entries()) {
    signal?.throwIfAborted();
    const data = await tree.read(paths[i]!);
    total += data.byteLength;
    if (total > MAX_CHART_BYTES) {
      throw helmError('HELM_CHART_INVALID', `chart at ${where} exceeds maximum size of ${MAX_CHART_BYTES} bytes`, {});
    }
    files.push({ name, data });
  }
  return files;
}
