import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import tar from 'tar-stream';
import { OciError } from '../oci-error.js';

/** Bounds on what an archive may unpack to. */
export interface UnpackLimits {
  /** Total bytes of all files once decompressed. */
  maxBytes: number;
  /** Number of entries. */
  maxFiles: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const gzipAsync = promisify(gzip);
// Entries of kinds that carry no file content and are safe to pass over.
const SKIPPED = new Set(['directory', 'pax-header', 'pax-global-header', 'gnu-long-path', 'gnu-long-link-path']);

/**
 * Packs files into a gzipped tar the way `flux push artifact` does for reproducible digests:
 * sorted paths, regular files only, mode 0644, uid/gid 0, no user names, mtime at the epoch.
 * The same files always give the same bytes, so the same digest.
 */
export async function packTarGz(files: ReadonlyMap<string, Uint8Array>): Promise<Uint8Array> {
  const pack = tar.pack();
  const done = collect(pack);
  for (const path of [...files.keys()].sort()) {
    const content = files.get(path)!;
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: path, size: content.byteLength, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, type: 'file' }, Buffer.from(content), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  // zlib's default level, as `tar -z` and Go's gzip writer use (level 9 costs 3× the time for
  // 0.3 % less); no file name or time in the gzip header: byte-stable across runs. Off the
  // event loop, in libuv's thread pool.
  return gzipAsync(await done);
}

/**
 * Unpacks a tar (gzipped or not: told by its magic bytes) into files by normalised path.
 * Refuses with `OCI_UNSAFE_ARCHIVE` any path that leaves the archive (`..`, absolute), any link
 * whose target is outside it, and devices and FIFOs; links inside it become copies of their
 * target. Refuses with `OCI_TOO_LARGE` past the limits, without decompressing further.
 */
export async function unpackTar(archive: Uint8Array, limits: UnpackLimits, what: string): Promise<Map<string, Uint8Array>> {
  let bytes: Uint8Array = archive;
  if (archive[0] === GZIP_MAGIC[0] && archive[1] === GZIP_MAGIC[1]) {
    try {
      // Headers and padding add at most 1 KiB per entry on top of the content.
      bytes = gunzipSync(archive, { maxOutputLength: limits.maxBytes + limits.maxFiles * 1024 + 1024 * 1024 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(what, limits);
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
      if (++count > limits.maxFiles) throw new OciError('OCI_TOO_LARGE', `${what} has more than ${limits.maxFiles} entries`, { data: { maxFiles: limits.maxFiles } });
      const path = safePath(header.name, what);
      const type = header.type ?? 'file';
      if (SKIPPED.has(type) || path === '') {
        entry.resume();
        continue;
      }
      if (type === 'symlink' || type === 'link') {
        const linkname = header.linkname ?? '';
        // posix.join would read an absolute target as relative: check it first.
        const target = type === 'symlink' && !linkname.startsWith('/') ? posix.join(posix.dirname(path), linkname) : linkname;
        links.set(path, safePath(target, what, path));
        files.delete(path);
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        throw new OciError('OCI_UNSAFE_ARCHIVE', `${what}: ${path} is a ${type}, not a file`, { data: { path } });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        total += chunk.byteLength;
        if (total > limits.maxBytes) throw tooLarge(what, limits);
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
function safePath(name: string, what: string, linkFrom?: string): string {
  const unsafe = (why: string) =>
    new OciError('OCI_UNSAFE_ARCHIVE', linkFrom ? `${what}: the link ${linkFrom} points ${why}` : `${what}: the entry ${JSON.stringify(name)} ${why}`, {
      data: { path: linkFrom ?? name },
    });
  if (/[\u0000-\u001f\\]/.test(name)) throw unsafe('has a control character or backslash in its name');
  if (name.startsWith('/')) throw unsafe(linkFrom ? 'to an absolute path' : 'is an absolute path');
  const normal = posix.normalize(name);
  if (normal === '..' || normal.startsWith('../')) throw unsafe(linkFrom ? 'outside the artifact' : 'leaves the artifact');
  return normal === '.' || normal === './' ? '' : normal.replace(/^\.\//, '').replace(/\/$/, '');
}

function tooLarge(what: string, limits: UnpackLimits): OciError {
  return new OciError('OCI_TOO_LARGE', `${what} unpacks to more than ${limits.maxBytes} bytes`, { data: { maxBytes: limits.maxBytes } });
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
