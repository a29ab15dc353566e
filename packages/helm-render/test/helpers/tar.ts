import { gzipSync } from 'node:zlib';

/** One tar entry for {@link tgz}: a regular file, a directory or a symlink. */
export interface TarEntry {
  name: string;
  data?: string | Uint8Array;
  type?: 'file' | 'dir' | 'symlink';
  linkName?: string;
}

/** Builds a gzipped ustar archive by hand, so tests can make archives `tar` would refuse to. */
export function tgz(entries: TarEntry[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(typeof e.data === 'string' ? e.data : (e.data ?? new Uint8Array()));
    const header = Buffer.alloc(512);
    header.write(e.name.slice(0, 100), 0, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write(e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0', 156);
    if (e.linkName) header.write(e.linkName, 157);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}
