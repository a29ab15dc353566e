import { describe, expect, it } from 'vitest';
import { gitSource, parseGitRef } from '../src/index.js';

describe('parseGitRef', () => {
  it.each([
    [{ branch: 'main' }, { branch: 'main' }],
    [{ tag: 'v1.2.0' }, { tag: 'v1.2.0' }],
    [{ semver: '>=1.2.0 <2' }, { semver: '>=1.2.0 <2' }],
    [{ commit: 'a'.repeat(40) }, { commit: 'a'.repeat(40) }],
    [{ name: 'refs/pull/7/head' }, { name: 'refs/pull/7/head' }],
  ])('reads %j', (raw, ref) => {
    expect(parseGitRef(raw)).toEqual(ref);
  });

  it.each([
    [{}, 'ref must set exactly one of branch, tag, semver, commit, name (got none)'],
    [{ branch: 'main', tag: 'v1' }, 'ref must set exactly one of branch, tag, semver, commit, name (got branch, tag)'],
    [{ branch: '' }, 'ref.branch must be a non-empty string'],
    [{ tag: 3 }, 'ref.tag must be a non-empty string'],
    [{ commit: 'abc' }, 'ref.commit must be a 40-hex commit id'],
    [{ semver: 'not a range' }, 'ref.semver "not a range" is not a semver range'],
    ['main', 'ref must be a mapping'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseGitRef(raw)).toThrow(new TypeError(message));
  });

  it('is what gitSource checks, for callers the types do not reach', () => {
    const ref = { branch: 'main', commit: 'a'.repeat(40) } as unknown as { branch: string };
    expect(() => gitSource({ url: 'https://git.example/repo.git', ref })).toThrow('gitSource: ref must set exactly one of branch, tag, semver, commit, name (got branch, commit)');
  });
});
