import semver from 'semver';

/**
 * The newest of `candidates` (tags, chart versions) whose version satisfies the semver `range`,
 * returned as given; `undefined` when none does. Versions are read loosely, so a `v` or `=`
 * prefix is accepted (`v1.2.0`); candidates that are not versions (`latest`, `main`) are passed
 * over. A prerelease (`2.0.0-rc.1`) matches only a range that names a prerelease of the same
 * `major.minor.patch` (semver's rule: `*` and `^2` pick no prerelease). Of two candidates with
 * the same version (`v1.0.0` and `1.0.0`), the first wins. The tag pickers of git-source,
 * helm-render and {@link ociSource} all use it.
 *
 * @example
 * ```ts
 * newestVersion(['v1.0.0', 'v1.2.0', 'v2.0.0-rc.1', 'latest'], '>=1.0.0'); // 'v1.2.0'
 * ```
 */
export function newestVersion(candidates: readonly string[], range: string): string | undefined {
  const byVersion = new Map<string, string>();
  for (const candidate of candidates) {
    const version = semver.valid(candidate, { loose: true });
    if (version && !byVersion.has(version)) byVersion.set(version, candidate);
  }
  const best = semver.maxSatisfying([...byVersion.keys()], range, { loose: true });
  return best === null ? undefined : byVersion.get(best);
}
