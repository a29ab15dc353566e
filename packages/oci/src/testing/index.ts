export { startRegistry } from './registry-server.js';
export type { TestRegistry, StartRegistryOptions } from './registry-server.js';
