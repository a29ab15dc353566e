import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import tar from 'tar-stream';

const gzipAsync = promisify(gzip);

/**
 * Packs files into a gzipped tar the way `flux push artifact` does for reproducible digests:
 * sorted paths, regular files only, mode 0644, uid/gid 0, no user names, mtime at the epoch (a
 * path longer than the ustar name field gets a PAX record). The same files always give the same
 * bytes, so the same digest. {@link pushArtifact} packs with it, helm-render packs `file://`
 * dependencies with it; {@link unpackTar} reads it back.
 *
 * @example
 * ```ts
 * const archive = await packTarGz(new Map([['app/Chart.yaml', new TextEncoder().encode('name: app\n')]]));
 * ```
 */
export async function packTarGz(files: ReadonlyMap<string, Uint8Array>): Promise<Uint8Array> {
  // zlib's default level, as `tar -z` and Go's gzip writer use (level 9 costs 3× the time for
  // 0.3 % less); no file name or time in the gzip header: byte-stable across runs. Off the
  // event loop, in libuv's thread pool.
  return gzipAsync(await packTar(files));
}

/** The tar of {@link packTarGz}, before compression (an image layer's diff ID is its digest). */
export async function packTar(files: ReadonlyMap<string, Uint8Array>): Promise<Buffer> {
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
  return done;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
