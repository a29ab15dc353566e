import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';

const IDX_MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63]);
const FANOUT_AT = 8;
const NAMES_AT = FANOUT_AT + 256 * 4;

/** The object ids a pack holds, read from its version-2 index, for presence lookups. */
export class PackIndex {
  private constructor(
    private readonly fanout: Uint32Array,
    private readonly names: Buffer,
  ) {}

  /**
   * Reads a pack and its index and checks they belong together and are whole: the index is a
   * version-2 index, the pack's SHA-1 over its contents equals the checksum at its end and the
   * one the index records. Returns the index, or what is wrong in words.
   */
  static async load(packPath: string, idxPath: string): Promise<PackIndex | string> {
    const idx = await readFile(idxPath);
    if (!idx.subarray(0, 4).equals(IDX_MAGIC) || idx.readUInt32BE(4) !== 2 || idx.length < NAMES_AT + 40) return 'its index is not a version-2 pack index';
    const { head, trailer, size } = await ends(packPath);
    if (size < 32 || !head.equals(Buffer.from('PACK'))) return 'it does not start like a pack';
    if (!trailer.equals(idx.subarray(-40, -20))) return 'it is truncated or does not match its index';
    if (!(await sha1Of(packPath, size - 20)).equals(trailer)) return 'it fails its checksum';
    const fanout = new Uint32Array(256);
    for (let i = 0; i < 256; i++) fanout[i] = idx.readUInt32BE(FANOUT_AT + i * 4);
    const count = fanout[255]!;
    if (idx.length < NAMES_AT + count * 20 + 40) return 'its index is truncated';
    return new PackIndex(fanout, Buffer.from(idx.subarray(NAMES_AT, NAMES_AT + count * 20)));
  }

  /** Whether the pack holds the object (a binary search in the sorted id table). */
  has(oid: string): boolean {
    const want = Buffer.from(oid, 'hex');
    if (want.length !== 20) return false;
    const first = want[0]!;
    let lo = first === 0 ? 0 : this.fanout[first - 1]!;
    let hi = this.fanout[first]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const cmp = this.names.compare(want, 0, 20, mid * 20, mid * 20 + 20);
      if (cmp === 0) return true;
      if (cmp < 0) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }
}

async function ends(path: string): Promise<{ head: Buffer; trailer: Buffer; size: number }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(4);
    const trailer = Buffer.alloc(20);
    await handle.read(head, 0, 4, 0);
    if (size >= 20) await handle.read(trailer, 0, 20, size - 20);
    return { head, trailer, size };
  } finally {
    await handle.close();
  }
}

/** SHA-1 of the first `length` bytes of a file, streamed (a pack can be large). */
async function sha1Of(path: string, length: number): Promise<Buffer> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
  return hash.digest();
}
