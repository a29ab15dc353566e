export { MemorySink } from './memory-sink.js';
export type { MemorySinkOptions, MemorySinkCall, MemorySinkFault, MemorySinkOperation } from './memory-sink.js';
export { FakeClock } from './fake-clock.js';
export { nextEvent } from './next-event.js';
export { startRegistry } from './registry-server.js';
export type { TestRegistry, StartRegistryOptions } from './registry-server.js';
