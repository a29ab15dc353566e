import { DuplicateObjectError } from '../errors.js';
import type { FilePosition } from '../errors.js';
import { formatRef, refKey, refOf } from '../object.js';
import type { KubeObject } from '../object.js';
import { formatPosition, originOf } from '../origin.js';

/**
 * Throws {@link DuplicateObjectError} if two objects have the same identity, naming both
 * origins (`data.position` is the later one, `data.first` the earlier one).
 */
export function assertUnique(objects: readonly KubeObject[], context = ''): void {
  const seen = new Map<string, KubeObject>();
  for (const obj of objects) {
    const key = refKey(refOf(obj));
    const first = seen.get(key);
    if (!first) {
      seen.set(key, obj);
      continue;
    }
    const ref = refOf(obj);
    const firstAt = originOf(first);
    const secondAt = originOf(obj);
    const where = (p: FilePosition | undefined) => (p ? formatPosition(p) : 'an object made in code');
    throw new DuplicateObjectError(
      `${secondAt ? `${formatPosition(secondAt)}: ` : ''}${formatRef(ref)} is declared twice${context}, at ${where(firstAt)} and at ${where(secondAt)}; remove or rename one of them`,
      { ref, ...(secondAt && { position: secondAt }), ...(firstAt && { first: firstAt }) },
    );
  }
}
