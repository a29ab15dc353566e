import { describe, expect, it } from 'vitest';
import { memoryMaximumHead, withMemoryMaximum } from '../src/index.js';

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

  it('caps a module from its first bytes: the head asks for more until the memory section is in', () => {
    const whole = withMemoryMaximum(module, 3 * 65_536);
    for (let length = 0; length < 13; length++) {
      expect(memoryMaximumHead(module.subarray(0, length), module.length, 3 * 65_536)).toBeUndefined();
    }
    const head = memoryMaximumHead(module.subarray(0, 13), module.length, 3 * 65_536)!;
    expect(head).toMatchObject({ restOffset: 13, initialBytes: 65_536, maximumBytes: 3 * 65_536 });
    expect([...head.bytes, ...module.subarray(head.restOffset)]).toEqual([...whole.bytes]);
  });

  it('refuses a module cut short or without a memory, and a limit below its start as a RangeError', () => {
    expect(() => memoryMaximumHead(module.subarray(0, 11), 11, 3 * 65_536)).toThrow(/truncated WebAssembly module/);
    expect(() => memoryMaximumHead(module.subarray(0, 8), 8, 3 * 65_536)).toThrow(/defines no memory/);
    expect(() => memoryMaximumHead(module, module.length, 1000)).toThrow(RangeError);
  });
});
