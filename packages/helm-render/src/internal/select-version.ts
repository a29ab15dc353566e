import { newestVersion } from '@converge/oci';
import semver from 'semver';
import { helmError } from '../errors.js';

/**
 * The newest of `versions` that satisfies `range` (an exact version or a semver range, as
 * Helm takes it: a comma between comparators means "and", as in `>=1.2, <2`); with no range,
 * the newest stable version (see `newestVersion` of `@converge/oci`). `undefined` if none does.
 */
export function selectVersion(versions: string[], range: string | undefined): string | undefined {
  const wanted = range?.trim().replace(/\s*,\s*/g, ' ') || '*';
  if (semver.validRange(wanted, { loose: true }) === null) {
    throw helmError('HELM_INVALID_OPTIONS', `version ${JSON.stringify(range)} is neither a version nor a semver range`);
  }
  return newestVersion(versions, wanted);
}
