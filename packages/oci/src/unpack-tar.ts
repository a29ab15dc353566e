import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { OciError } from './oci-error.js';

/** Options of {@link unpackTar}. */
export interface UnpackTarOptions {
  /** What the archive is, for messages: e.g. `the layer of ghcr.io/org/app@sha256:…`. */
  what: string;
  /** Total bytes of all files once decompressed; past it, `OCI_TOO_LARGE` without decompressing further. */
  maxBytes: number;
  /** Number of entries (of any kind); past it, `OCI_TOO_LARGE`. */
  maxFiles: number;
  /**
   * Symbolic and hard links inside the archive: `'copy'` makes each a copy of the file it names
   * (a link to a folder or to nothing adds nothing); `'refuse'` refuses any link with
   * `OCI_UNSAFE_ARCHIVE`. A link pointing outside the archive is refused either way.
   * @default 'copy'
   */
  links?: 'copy' | 'refuse';
  /** `'detect'` reads gzip or plain tar, told by the magic bytes; `'gzip'` refuses anything not gzipped with `OCI_UNSUPPORTED_ARTIFACT`. @default 'detect' */
  compression?: 'detect' | 'gzip';
  /** Read `\` in entry names as `/` (archives packed on Windows; Helm's loader does so) instead of refusing the entry. @default false */
  backslashAsSeparator?: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];
// Entries of kinds that carry no file content and are safe to pass over.
const SKIPPED = new Set(['directory', 'pax-header', 'pax-global-header', 'gnu-long-path', 'gnu-long-link-path']);

/**
 * Unpacks a tar (gzipped or not) in memory into files by normalised path, treating it as hostile
 * input: refuses with `OCI_UNSAFE_ARCHIVE` any path that leaves the archive (`..`, absolute,
 * control characters), any link whose target is outside it, and devices and FIFOs (`data.path`,
 * `data.type`: the tar entry's type); refuses with `OCI_TOO_LARGE` past `maxBytes` or `maxFiles`,
 * without decompressing further; a stream that is not gzip or tar is `OCI_UNSUPPORTED_ARTIFACT`.
 * A later entry of a path replaces an earlier one, as `tar` extracts.
 *
 * @example
 * ```ts
 * const files = await unpackTar(layer, { what: 'the layer', maxBytes: 64 * 1024 * 1024, maxFiles: 10_000 });
 * const manifest = files.get('deploy/app.yaml');
 * ```
 */
export async function unpackTar(archive: Uint8Array, options: UnpackTarOptions): Promise<Map<string, Uint8Array>> {
  const { what } = options;
  let bytes: Uint8Array = archive;
  const gzipped = archive[0] === GZIP_MAGIC[0] && archive[1] === GZIP_MAGIC[1];
  if (!gzipped && options.compression === 'gzip') throw new OciError('OCI_UNSUPPORTED_ARTIFACT', `${what} is not a valid gzip stream`, { cause: new Error('no gzip header') });
  if (gzipped) {
    try {
      // Headers and padding add at most 1 KiB per entry on top of the content.
      bytes = gunzipSync(archive, { maxOutputLength: options.maxBytes + options.maxFiles * 1024 + 1024 * 1024 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(options);
      throw new OciError('OCI_UNSUPPORTED_ARTIFACT', `${what} is not a valid gzip stream`, { cause: error });
    }
  }
  const files = new Map<string, Uint8Array>();
  // By path, like files: a later entry of either kind replaces an earlier one of the same path, as tar extracts.
  const links = new Map<string, string>();
  const extract = tar.extract();
  let total = 0;
  let count = 0;
  const reading = (async () => {
    for await (const entry of extract) {
      const header = entry.header;
      if (++count > options.maxFiles) throw new OciError('OCI_TOO_LARGE', `${what} has more than ${options.maxFiles} entries`, { data: { maxFiles: options.maxFiles } });
      const type = header.type ?? 'file';
      const path = safePath(header.name, type, options);
      if (SKIPPED.has(type) || path === '') {
        entry.resume();
        continue;
      }
      if (type === 'symlink' || type === 'link') {
        if (options.links === 'refuse') throw new OciError('OCI_UNSAFE_ARCHIVE', `${what}: ${path} is a ${type}, and links are refused here`, { data: { path, type } });
        const linkname = header.linkname ?? '';
        // posix.join would read an absolute target as relative: check it first.
        const target = type === 'symlink' && !linkname.startsWith('/') ? posix.join(posix.dirname(path), linkname) : linkname;
        links.set(path, safePath(target, type, options, path));
        files.delete(path);
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        throw new OciError('OCI_UNSAFE_ARCHIVE', `${what}: ${path} is a ${type}, not a file`, { data: { path, type } });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        total += chunk.byteLength;
        if (total > options.maxBytes) throw tooLarge(options);
        chunks.push(chunk);
      }
      files.set(path, Buffer.concat(chunks));
      links.delete(path);
    }
  })();
  Readable.from([Buffer.from(bytes)]).pipe(extract);
  try {
    await reading;
  } catch (error) {
    extract.destroy();
    if (error instanceof OciError) throw error;
    throw new OciError('OCI_UNSUPPORTED_ARTIFACT', `${what} is not a valid tar archive: ${(error as Error).message}`, { cause: error });
  }
  // Links resolve against the finished tree (a link may come before its target); chains of links too.
  for (let round = 0; links.size > 0 && round < 8; round++) {
    for (const [path, target] of links) {
      const content = files.get(target);
      if (content) {
        files.set(path, content);
        links.delete(path);
      }
    }
  }
  // A link to a folder or to nothing has no file content: it is left out, as the files it would reach are in the tree already.
  return files;
}

/** `name` as a relative path inside the archive, or `OCI_UNSAFE_ARCHIVE` when it would leave it. */
function safePath(raw: string, type: string, options: UnpackTarOptions, linkFrom?: string): string {
  const name = options.backslashAsSeparator ? raw.replace(/\\/g, '/') : raw;
  const unsafe = (why: string) =>
    new OciError('OCI_UNSAFE_ARCHIVE', linkFrom ? `${options.what}: the link ${linkFrom} points ${why}` : `${options.what}: the entry ${JSON.stringify(raw)} ${why}`, {
      data: { path: linkFrom ?? raw, type },
    });
  if (/[\u0000-\u001f\\]/.test(name)) throw unsafe('has a control character or backslash in its name');
  if (name.startsWith('/')) throw unsafe(linkFrom ? 'to an absolute path' : 'is an absolute path');
  const normal = posix.normalize(name);
  if (normal === '..' || normal.startsWith('../')) throw unsafe(linkFrom ? 'outside the archive' : 'leaves the archive');
  return normal === '.' || normal === './' ? '' : normal.replace(/^\.\//, '').replace(/\/$/, '');
}

function tooLarge(options: UnpackTarOptions): OciError {
  return new OciError('OCI_TOO_LARGE', `${options.what} unpacks to more than ${options.maxBytes} bytes`, { data: { maxBytes: options.maxBytes } });
}
