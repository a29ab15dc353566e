import { createHash } from 'node:crypto';
import type { KubeObject } from '@converge/core';

const VOLATILE_METADATA = new Set(['resourceVersion', 'managedFields', 'generation', 'creationTimestamp', 'uid', 'selfLink']);

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * A string that changes when someone changes what an object declares, and not when only its
 * status or server bookkeeping (resourceVersion, managedFields, generation) moves. Status
 * updates by controllers are therefore not drift. A SHA-256 digest of the declared content
 * (44 characters, not the content itself): a sink keeps one or two per object it manages.
 */
export function fingerprint(obj: KubeObject): string {
  const { status: _status, metadata, ...rest } = obj;
  const meta = Object.fromEntries(Object.entries(metadata).filter(([k]) => !VOLATILE_METADATA.has(k)));
  return createHash('sha256').update(JSON.stringify(stable({ ...rest, metadata: meta }))).digest('base64');
}
