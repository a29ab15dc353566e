import { OciError, unpackTar } from '@converge/oci';
import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';

/** Helm's own bound on a chart's decompressed size (archive.MaxDecompressedChartSize). */
export const MAX_CHART_BYTES = 100 * 1024 * 1024;

/** Entries (files and folders) a chart archive may hold; Helm sets none, a chart has hundreds at most. */
export const MAX_CHART_ENTRIES = 20_000;

/**
 * Unpacks a chart archive (`.tgz`) into its files, named relative to the chart root (the
 * archive's top folder is removed, as Helm does), with `@converge/oci`'s `unpackTar`. Refuses,
 * with `HELM_ARCHIVE_UNSAFE`, any entry whose path leaves the chart (`../`, absolute paths), any
 * link and any device or FIFO; with `HELM_CHART_INVALID`, archives larger than
 * {@link MAX_CHART_BYTES} once decompressed and anything that is not a gzipped tar with a Chart.yaml.
 */
export async function extractChartArchive(archive: Uint8Array, name = 'chart archive'): Promise<ChartFile[]> {
  let unpacked: Map<string, Uint8Array>;
  try {
    // Helm's loader reads `\` as `/` and knows only gzipped charts.
    unpacked = await unpackTar(archive, { what: name, maxBytes: MAX_CHART_BYTES, maxFiles: MAX_CHART_ENTRIES, links: 'refuse', compression: 'gzip', backslashAsSeparator: true });
  } catch (err) {
    throw chartArchiveError(err, name);
  }
  const files: ChartFile[] = [];
  for (const [path, data] of unpacked) {
    const slash = path.indexOf('/');
    if (slash < 0) {
      throw helmError('HELM_CHART_INVALID', `${name}: chart file ${path} is not in the chart's base directory`, { archive: name });
    }
    files.push({ name: path.slice(slash + 1), data });
  }
  if (!files.some((f) => f.name === 'Chart.yaml')) {
    throw helmError('HELM_CHART_INVALID', `${name}: no Chart.yaml found in the chart archive`, { archive: name });
  }
  return files;
}

/** unpackTar's refusal in the words Helm users know. */
function chartArchiveError(err: unknown, name: string): Error {
  if (!(err instanceof OciError)) return err as Error;
  const { path, type } = err.data as { path?: string; type?: string };
  switch (err.code) {
    case 'OCI_UNSAFE_ARCHIVE':
      if (type === 'symlink' || type === 'link') {
        return helmError('HELM_ARCHIVE_UNSAFE', `${name}: refusing link ${JSON.stringify(path)} in a chart archive`, { archive: name, path }, err);
      }
      if (type !== undefined && type !== 'file' && type !== 'contiguous-file' && type !== 'directory') {
        return helmError('HELM_ARCHIVE_UNSAFE', `${name}: refusing ${type} ${JSON.stringify(path)} in a chart archive`, { archive: name, path }, err);
      }
      return helmError(
        'HELM_ARCHIVE_UNSAFE',
        `${name}: refusing unsafe path ${JSON.stringify(path)}: ${/[\u0000-\u001f]/.test(path ?? '') ? 'it has a control character in its name' : 'it points outside the chart'}`,
        { archive: name, path },
        err,
      );
    case 'OCI_TOO_LARGE':
      return helmError(
        'HELM_CHART_INVALID',
        'maxFiles' in err.data ? `${name}: chart has more than ${MAX_CHART_ENTRIES} entries` : `${name}: chart exceeds maximum decompressed size of ${MAX_CHART_BYTES} bytes`,
        { archive: name },
        err,
      );
    default:
      return helmError('HELM_CHART_INVALID', `${name} does not appear to be a valid chart file (details: ${((err.cause as Error | undefined) ?? err).message})`, { archive: name }, err);
  }
}
