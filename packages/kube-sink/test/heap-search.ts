import { randomBytes } from 'node:crypto';
import { getHeapSnapshot, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A random Secret value as the API carries it (base64 text), kept as a Buffer: the text exists as
 * a JavaScript string only inside the functions that send it, so the test itself holds none.
 */
export function randomValue(): Buffer {
  return Buffer.from(randomBytes(48).toString('base64'), 'latin1');
}

/** Whether the heap (after a full GC) holds `needle` as text. `needle` stays a Buffer, outside the JavaScript heap the snapshot shows. */
export async function heapHolds(needle: Buffer): Promise<boolean> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Objects whose release waits for a turn of the event loop (a socket's last buffers, weak
  // references) are gone after a few collections with turns between them.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  let tail = Buffer.alloc(0);
  for await (const chunk of getHeapSnapshot()) {
    const joined = Buffer.concat([tail, chunk as Buffer]);
    if (joined.includes(needle)) return true;
    tail = joined.subarray(Math.max(0, joined.length - needle.length));
  }
  return false;
}
