import semver from 'semver';
import { helmError } from '../errors.js';

/**
 * The newest of `versions` that satisfies `range` (an exact version or a semver range, as
 * Helm takes it); with no range, the newest stable version. `undefined` if none does.
 */
export function selectVersion(versions: string[], range: string | undefined): string | undefined {
  const wanted = range?.trim() || '*';
  if (semver.validRange(wanted, { loose: true }) === null) {
    throw helmError('HELM_INVALID_OPTIONS', `version ${JSON.stringify(range)} is neither a version nor a semver range`);
  }
  const valid = versions.filter((v) => semver.valid(v, { loose: true }) !== null);
  return semver.maxSatisfying(valid, wanted, { loose: true }) ?? undefined;
}
