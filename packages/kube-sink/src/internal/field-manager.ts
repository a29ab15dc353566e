import { createHash } from 'node:crypto';

/** Kubernetes' limit on a field manager's name. */
const MAX_FIELD_MANAGER = 128;

/**
 * The field manager a reconciler applies under: `<base>:<owner>`, so that each reconciler owns
 * its fields apart from every other (two reconcilers applying the same field conflict instead
 * of silently sharing it). A name that would be too long or not printable ASCII is replaced
 * by a digest of the owner. Without an owner, `base` itself.
 */
export function fieldManagerFor(base: string, owner: string | undefined): string {
  if (owner === undefined) return base;
  const name = `${base}:${owner}`;
  if (name.length <= MAX_FIELD_MANAGER && /^[\x20-\x7e]+$/.test(name)) return name;
  return `${base}:${createHash('sha256').update(owner).digest('hex').slice(0, 32)}`;
}
