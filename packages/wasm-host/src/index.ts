export type { WasmHostOptions, HostCall, HostReply, InfoOptions } from './wasm-host.js';
export { WasmHost } from './wasm-host.js';
export type { EngineLifetimeOptions, WasmHostStats } from './engine-lifetime.js';
export { DEFAULT_ENGINE_LIFETIME } from './engine-lifetime.js';
export type { EngineLimits, EngineLimit, HostFailure, LimitWording } from './engine-limits.js';
export { crashFailure, limitMessage, formatBytes } from './engine-limits.js';
export type { MemoryLimitedModule, MemoryMaximumHead } from './wasm-memory-limit.js';
export { withMemoryMaximum, memoryMaximumHead, WASM_PAGE_BYTES, WASM32_MAX_BYTES } from './wasm-memory-limit.js';
