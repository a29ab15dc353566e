import { open } from 'node:fs/promises';
import { memoryMaximumHead, type MemoryMaximumHead } from '../wasm-memory-limit.js';

/** {@link MemoryMaximumHead} of a module file, and the file's size. */
export interface ModuleHead extends MemoryMaximumHead {
  /** The size of the module file, in bytes: the engine's process checks it reads the same file. */
  moduleBytes: number;
}

/** Read in steps of this much, doubling, until the memory section is in: one step for Go's engines. */
const FIRST_READ = 1024 * 1024;

/**
 * Reads the first sections of the module at `path` — only as far as its memory section — and
 * declares `maxBytes` on its memory there. The engine's process reads the rest of the file
 * itself, so the host's process never holds the module.
 *
 * @throws Error when the file cannot be read or is not a module with a memory of its own;
 *   RangeError when `maxBytes` is below the memory the module starts with.
 */
export async function readMemoryMaximumHead(path: string, maxBytes: number): Promise<ModuleHead> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    for (let length = Math.min(FIRST_READ, size); ; length = Math.min(length * 2, size)) {
      const prefix = new Uint8Array(length);
      const { bytesRead } = await file.read(prefix, 0, length, 0);
      if (bytesRead < length) throw new Error(`${path} ended after ${bytesRead} of ${size} bytes`);
      const head = memoryMaximumHead(prefix, size, maxBytes);
      if (head) return { ...head, moduleBytes: size };
    }
  } finally {
    await file.close();
  }
}
