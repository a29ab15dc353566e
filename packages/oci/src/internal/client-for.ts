import type { Clock } from '@converge/core';
import { resolveAuth, type OciAuth } from '../credentials.js';
import { RegistryClient } from '../registry-client.js';

/** The connection options `ociSource` and `pushArtifact` share. */
export interface ConnectionOptions {
  auth?: OciAuth;
  insecure?: boolean;
  fetch?: typeof fetch;
  timeoutMs?: number;
  clock?: Clock;
}

/** The registry client for one registry, with the credentials `auth` gives for it. */
export function clientFor(registry: string, options: ConnectionOptions): RegistryClient {
  const credentials = resolveAuth(options.auth, registry);
  return new RegistryClient({
    registry,
    insecure: options.insecure ?? false,
    ...(credentials && { credentials }),
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.clock && { clock: options.clock }),
  });
}
