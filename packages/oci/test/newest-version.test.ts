import { describe, expect, it } from 'vitest';
import { newestVersion } from '../src/newest-version.js';

describe('newestVersion', () => {
  it('picks the newest candidate in the range and returns it as given, v prefix and all', () => {
    expect(newestVersion(['v1.0.0', 'v1.2.0', 'v1.10.0', 'v2.0.0'], '>=1.0.0 <2')).toBe('v1.10.0');
    expect(newestVersion(['1.0.0', '=1.3.0'], '^1')).toBe('=1.3.0');
    expect(newestVersion(['v1.0.0'], '>=2')).toBeUndefined();
  });

  it('passes over candidates that are not versions', () => {
    expect(newestVersion(['latest', 'main', 'v1', '1.2', 'v1.1.0'], '*')).toBe('v1.1.0');
    expect(newestVersion(['latest'], '*')).toBeUndefined();
  });

  it('picks a prerelease only for a range that names one of the same major.minor.patch', () => {
    const tags = ['v1.0.0', 'v2.0.0-rc.1', 'v2.0.0-rc.2'];
    expect(newestVersion(tags, '*')).toBe('v1.0.0');
    expect(newestVersion(tags, '^2')).toBeUndefined();
    expect(newestVersion(tags, '>=2.0.0-rc.1')).toBe('v2.0.0-rc.2');
  });

  it('of two candidates with the same version, the first wins', () => {
    expect(newestVersion(['1.0.0', 'v1.0.0'], '*')).toBe('1.0.0');
    expect(newestVersion(['v1.0.0', '1.0.0'], '*')).toBe('v1.0.0');
  });
});
