import { gunzipSync } from 'node:zlib';
import type { ChartFile } from '../engine.js';
import { helmError } from '../errors.js';
import { safeRelativePath } from './safe-path.js';

/** Helm's own bound on a chart's decompressed size (archive.MaxDecompressedChartSize). */
export const MAX_CHART_BYTES = 100 * 1024 * 1024;

const BLOCK = 512;

/**
 * Unpacks a chart archive (`.tgz`) into its files, named relative to the chart root (the
 * archive's top folder is removed, as Helm does). Refuses, with `HELM_ARCHIVE_UNSAFE`, any
 * entry whose path leaves the chart (`../`, absolute paths) and any link; refuses archives
 * larger than {@link MAX_CHART_BYTES} once decompressed.
 */
export function extractChartArchive(archive: Uint8Array, name = 'chart archive'): ChartFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: MAX_CHART_BYTES + 1024 * 1024 });
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw helmError(
      'HELM_CHART_INVALID',
      tooBig
        ? `${name}: chart exceeds maximum decompressed size of ${MAX_CHART_BYTES} bytes`
        : `${name} does not appear to be a valid chart file (details: ${(err as Error).message})`,
      { archive: name },
      err,
    );
  }

  const files: ChartFile[] = [];
  let total = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  for (let off = 0; off + BLOCK <= tar.length; ) {
    const header = tar.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (body.length < size) throw helmError('HELM_CHART_INVALID', `${name}: truncated archive`, { archive: name });

    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      paxPath = paxRecords(body)['path'] ?? paxPath;
      continue;
    }
    if (type === 'g') continue;

    const prefix = cString(header.subarray(345, 500));
    const entryName = paxPath ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    paxPath = longName = undefined;

    if (type === '5') {
      safeRelativePath(entryName);
      continue;
    }
    if (type === '1' || type === '2') {
      throw helmError('HELM_ARCHIVE_UNSAFE', `${name}: refusing link ${JSON.stringify(entryName)} in a chart archive`, {
        archive: name,
        path: entryName,
      });
    }
    if (type !== '0' && type !== '\0' && type !== '7') continue;

    const path = safeRelativePath(entryName);
    const slash = path.indexOf('/');
    if (slash < 0) {
      throw helmError('HELM_CHART_INVALID', `${name}: chart file ${path} is not in the chart's base directory`, { archive: name });
    }
    total += size;
    if (total > MAX_CHART_BYTES) {
      throw helmError('HELM_CHART_INVALID', `${name}: chart exceeds maximum decompressed size of ${MAX_CHART_BYTES} bytes`, {
        archive: name,
      });
    }
    files.push({ name: path.slice(slash + 1), data: new Uint8Array(body) });
  }
  if (!files.some((f) => f.name === 'Chart.yaml')) {
    throw helmError('HELM_CHART_INVALID', `${name}: no Chart.yaml found in the chart archive`, { archive: name });
  }
  return files;
}

function parseOctal(field: Uint8Array): number {
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

function cString(field: Uint8Array): string {
  const end = field.indexOf(0);
  return Buffer.from(end >= 0 ? field.subarray(0, end) : field).toString('utf8');
}

/** PAX extended header records: "<len> <key>=<value>\n", lengths in bytes. */
function paxRecords(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const buf = Buffer.from(body);
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    if (space < 0) break;
    const len = parseInt(buf.subarray(i, space).toString('latin1'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = buf.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}
