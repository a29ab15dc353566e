import { gzipSync } from 'node:zlib';
import type { ChartFile } from '../engine.js';

const BLOCK = 512;

/**
 * Packs chart files into a chart archive (`.tgz`) under a top folder `name/`, as
 * `helm package` lays it out. Regular files only, mode 0644, mtime 0 (so the same files make
 * the same bytes); a path longer than the ustar name field gets a PAX `path` record.
 */
export function packChart(name: string, files: ChartFile[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const file of files) {
    const path = `${name}/${file.name}`;
    if (Buffer.byteLength(path) > 100) {
      const record = paxRecord('path', path);
      blocks.push(header('PaxHeader', record.length, 'x'), record, padding(record.length));
    }
    blocks.push(header(path, file.data.byteLength, '0'), Buffer.from(file.data), padding(file.data.byteLength));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}

function header(path: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(truncateBytes(path, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** A PAX record, "<length> <key>=<value>\n", where the length counts itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return Buffer.from(`${length}${body}`);
}

function truncateBytes(text: string, max: number): string {
  let out = text;
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
