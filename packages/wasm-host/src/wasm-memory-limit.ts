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
 * The most a module grows by when {@link withMemoryMaximum} declares a maximum: the maximum
 * (at most five bytes) and one more byte for the memory section's size. The other fields are
 * written in their shortest form, never longer than they were.
 */
export const MEMORY_MAXIMUM_GROWTH = 6;

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
 * @throws Error when the module is not WebAssembly, has no memory section (an imported memory
 *   cannot be capped here), or `maxBytes` is below the memory the module starts with.
 */
export function withMemoryMaximum(module: Uint8Array, maxBytes: number): MemoryLimitedModule {
  const room = new Uint8Array(MEMORY_MAXIMUM_GROWTH + module.length);
  room.set(module, MEMORY_MAXIMUM_GROWTH);
  return withMemoryMaximumInPlace(room, MEMORY_MAXIMUM_GROWTH, maxBytes);
}

/**
 * {@link withMemoryMaximum} without a copy of the module, for a module of tens of MiB: the
 * module is `buffer` from `start` on, with at least {@link MEMORY_MAXIMUM_GROWTH} bytes of room
 * in front of it. Only the sections before the memory section move (into that room); the
 * returned bytes are a view of `buffer`, which is overwritten.
 */
export function withMemoryMaximumInPlace(buffer: Uint8Array, start: number, maxBytes: number): MemoryLimitedModule {
  const module = buffer.subarray(start);
  if (module.length < 8 || module[0] !== 0 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    throw new Error('not a WebAssembly module (bad magic number)');
  }
  let pos = 8;
  while (pos < module.length) {
    const sectionStart = pos;
    const id = module[pos++]!;
    const size = readU32(module, pos);
    const payloadStart = size.next;
    const payloadEnd = payloadStart + size.value;
    if (payloadEnd > module.length) throw new Error('truncated WebAssembly module');
    if (id === MEMORY_SECTION) {
      const payload = patchMemorySection(module.subarray(payloadStart, payloadEnd), maxBytes);
      const section = [MEMORY_SECTION, ...encodeU32(payload.bytes.length), ...payload.bytes];
      // The sections after this one stay where they are; the ones before it move by the growth.
      const newStart = start + payloadEnd - section.length - sectionStart;
      if (newStart < 0) throw new Error(`no room to declare a memory maximum in front of the module (${start} bytes)`);
      buffer.copyWithin(newStart, start, start + sectionStart);
      buffer.set(section, newStart + sectionStart);
      return { bytes: buffer.subarray(newStart), initialBytes: payload.initialBytes, maximumBytes: payload.maximumBytes };
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
    throw new Error(
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
