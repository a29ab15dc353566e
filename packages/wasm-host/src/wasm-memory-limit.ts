/** Bytes in one WebAssembly page. */
export const WASM_PAGE_BYTES = 65_536;
/** The most a 32-bit WebAssembly memory can hold: 65536 pages, 4 GiB. */
export const WASM32_MAX_BYTES = 65_536 * WASM_PAGE_BYTES;

const MEMORY_SECTION = 5;

/** A module whose memory was given a maximum by {@link withMemoryMaximum}. */
export interface MemoryLimitedModule {
  /** The patched module bytes. */
  bytes: Uint8Array;
  /** The memory the module starts with (its declared minimum), in bytes. */
  initialBytes: number;
  /** The maximum now declared, in bytes (a whole number of pages). */
  maximumBytes: number;
}

/**
 * Rewrites the memory section of a WebAssembly module so that its (only, defined) memory
 * declares a maximum of `maxBytes` rounded down to whole pages. Go's linker declares a
 * minimum and no maximum; with one, `memory.grow` past it fails, which the Go runtime
 * reports as `fatal error: out of memory` — a hard cap on everything the module allocates
 * (heap, goroutine stacks, its copy of the chart), enforced by the WebAssembly engine itself.
 *
 * An existing smaller maximum is kept. Nothing else in the module changes: its sections are
 * copied byte for byte around the rewritten one.
 *
 * @throws Error when the module is not WebAssembly or has no memory section (an imported memory
 *   cannot be capped here); RangeError when `maxBytes` is below the memory the module starts with.
 */
export function withMemoryMaximum(module: Uint8Array, maxBytes: number): MemoryLimitedModule {
  const head = memoryMaximumHead(module, module.length, maxBytes)!;
  const bytes = new Uint8Array(head.bytes.length + module.length - head.restOffset);
  bytes.set(head.bytes);
  bytes.set(module.subarray(head.restOffset), head.bytes.length);
  return { bytes, initialBytes: head.initialBytes, maximumBytes: head.maximumBytes };
}

/**
 * The start of a module capped as {@link withMemoryMaximum} caps it: everything up to its memory
 * section, rewritten. The capped module is `bytes` followed by the original module from
 * `restOffset` on, so a module of tens of MiB can be read from its file once, straight into
 * the buffer it is compiled from.
 */
export interface MemoryMaximumHead {
  /** The module's first sections and its rewritten memory section. */
  bytes: Uint8Array;
  /** Where in the original module the sections after the memory section begin. */
  restOffset: number;
  /** The memory the module starts with (its declared minimum), in bytes. */
  initialBytes: number;
  /** The maximum now declared, in bytes (a whole number of pages). */
  maximumBytes: number;
}

/**
 * {@link MemoryMaximumHead} of a module of `moduleBytes` bytes, read from its first bytes
 * (`prefix`); `undefined` when the prefix ends before the memory section does, so the caller
 * reads more. The memory section comes early (after the types, imports, function signatures
 * and tables): a few hundred KiB into Go's 80 MiB Helm engine.
 *
 * @throws Error as {@link withMemoryMaximum} does.
 */
export function memoryMaximumHead(prefix: Uint8Array, moduleBytes: number, maxBytes: number): MemoryMaximumHead | undefined {
  if (prefix.length < 8) {
    if (moduleBytes > prefix.length) return undefined;
    throw new Error('not a WebAssembly module (bad magic number)');
  }
  if (prefix[0] !== 0 || prefix[1] !== 0x61 || prefix[2] !== 0x73 || prefix[3] !== 0x6d) {
    throw new Error('not a WebAssembly module (bad magic number)');
  }
  let pos = 8;
  while (pos < moduleBytes) {
    const sectionStart = pos;
    const id = prefix[pos];
    const size = id === undefined ? undefined : readU32OrEnd(prefix, pos + 1);
    if (!size) {
      if (prefix.length < moduleBytes) return undefined;
      throw new Error('truncated WebAssembly module');
    }
    const payloadEnd = size.next + size.value;
    if (payloadEnd > moduleBytes) throw new Error('truncated WebAssembly module');
    if (id === MEMORY_SECTION) {
      if (payloadEnd > prefix.length) return undefined;
      const payload = patchMemorySection(prefix.subarray(size.next, payloadEnd), maxBytes);
      const section = [MEMORY_SECTION, ...encodeU32(payload.bytes.length), ...payload.bytes];
      const bytes = new Uint8Array(sectionStart + section.length);
      bytes.set(prefix.subarray(0, sectionStart));
      bytes.set(section, sectionStart);
      return { bytes, restOffset: payloadEnd, initialBytes: payload.initialBytes, maximumBytes: payload.maximumBytes };
    }
    pos = payloadEnd;
  }
  throw new Error('the WebAssembly module defines no memory');
}

function patchMemorySection(payload: Uint8Array, maxBytes: number): { bytes: Uint8Array; initialBytes: number; maximumBytes: number } {
  const count = readU32(payload, 0);
  if (count.value !== 1) throw new Error(`expected one memory in the WebAssembly module, found ${count.value}`);
  const flags = readU32(payload, count.next);
  // Bit 0: has a maximum; bit 1: shared; bit 2: 64-bit (memory64, whose limits are u64).
  if (flags.value & ~0b11) throw new Error(`unsupported WebAssembly memory flags 0x${flags.value.toString(16)}`);
  const min = readU32(payload, flags.next);
  let end = min.next;
  let maxPages = Math.floor(maxBytes / WASM_PAGE_BYTES);
  if (flags.value & 1) {
    const existing = readU32(payload, min.next);
    maxPages = Math.min(maxPages, existing.value);
    end = existing.next;
  }
  if (maxPages < min.value) {
    throw new RangeError(
      `a memory limit of ${maxBytes} bytes is below the ${min.value * WASM_PAGE_BYTES} bytes the engine starts with`,
    );
  }
  const bytes = Uint8Array.from([
    ...encodeU32(1),
    ...encodeU32(flags.value | 1),
    ...encodeU32(min.value),
    ...encodeU32(maxPages),
    ...payload.subarray(end),
  ]);
  return { bytes, initialBytes: min.value * WASM_PAGE_BYTES, maximumBytes: maxPages * WASM_PAGE_BYTES };
}

/** {@link readU32}, or `undefined` when `bytes` end inside the number. */
function readU32OrEnd(bytes: Uint8Array, pos: number): { value: number; next: number } | undefined {
  for (let i = pos; i < Math.min(bytes.length, pos + 5); i++) if ((bytes[i]! & 0x80) === 0) return readU32(bytes, pos);
  return bytes.length - pos >= 5 ? readU32(bytes, pos) : undefined;
}

/** Reads an unsigned LEB128 number of at most 32 bits at `pos`. */
function readU32(bytes: Uint8Array, pos: number): { value: number; next: number } {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= bytes.length) throw new Error('truncated WebAssembly module');
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: pos };
  }
  throw new Error('malformed LEB128 number in the WebAssembly module');
}

/** Encodes an unsigned number as LEB128. */
function encodeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}
