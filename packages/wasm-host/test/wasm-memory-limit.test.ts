import { describe, expect, it } from 'vitest';
import { withMemoryMaximum } from '../src/index.js';
import { MEMORY_MAXIMUM_GROWTH, withMemoryMaximumInPlace } from '../src/wasm-memory-limit.js';

describe('withMemoryMaximum', () => {
  // A module with one memory of 1 page and no maximum, exported as `mem`.
  const module = Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x05, 0x03, 0x01, 0x00, 0x01, // memory section: 1 memory, flags 0 (no max), min 1
    0x07, 0x07, 0x01, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, // export "mem" = memory 0
  ]);
  type Wasm = { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: { mem: { grow(n: number): number } } } };
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

  it('declares a maximum, so memory.grow past it fails', () => {
    const capped = withMemoryMaximum(module, 3 * 65_536 + 100);
    expect(capped).toMatchObject({ initialBytes: 65_536, maximumBytes: 3 * 65_536 });
    const mem = new wasm.Instance(new wasm.Module(capped.bytes)).exports.mem;
    expect(mem.grow(2)).toBe(1);
    expect(() => mem.grow(1)).toThrow(RangeError);
    // The original grows freely.
    expect(new wasm.Instance(new wasm.Module(module)).exports.mem.grow(16)).toBe(1);
  });

  it('keeps a smaller existing maximum and copies the other sections as they are', () => {
    const once = withMemoryMaximum(module, 2 * 65_536);
    const twice = withMemoryMaximum(once.bytes, 100 * 65_536);
    expect(twice.maximumBytes).toBe(2 * 65_536);
    expect([...twice.bytes.subarray(-9)]).toEqual([...module.subarray(-9)]);
  });

  it('refuses a maximum below the initial memory, and what is not a module', () => {
    expect(() => withMemoryMaximum(module, 1000)).toThrow(/below the 65536 bytes the engine starts with/);
    expect(() => withMemoryMaximum(new TextEncoder().encode('not wasm'), 65_536)).toThrow(/not a WebAssembly module/);
  });

  it('patches in place, without a copy of the module, when it has room in front', () => {
    const buffer = new Uint8Array(MEMORY_MAXIMUM_GROWTH + module.length);
    buffer.set(module, MEMORY_MAXIMUM_GROWTH);
    const capped = withMemoryMaximumInPlace(buffer, MEMORY_MAXIMUM_GROWTH, 3 * 65_536);
    expect(capped.bytes.buffer).toBe(buffer.buffer);
    expect([...capped.bytes]).toEqual([...withMemoryMaximum(module, 3 * 65_536).bytes]);
    expect(() => withMemoryMaximumInPlace(Uint8Array.from(module), 0, 3 * 65_536)).toThrow(/no room to declare a memory maximum/);
  });
});
