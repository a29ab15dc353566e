import { ConvergeError, SourceError } from '@converge/core';
import { describe, expect, it } from 'vitest';
import { GitAuthError, GitSourceError, GitTimeoutError, type GitSourceErrorCode } from '../src/index.js';

/** What a caller does per code; the compiler checks that every code is handled. */
function advice(code: GitSourceErrorCode): 'credentials' | 'retry' | 'config' | 'report' {
  switch (code) {
    case 'GIT_AUTH_FAILED':
      return 'credentials';
    case 'GIT_UNREACHABLE':
    case 'GIT_TIMEOUT':
    case 'GIT_CACHE_CORRUPT':
      return 'retry';
    case 'GIT_REF_NOT_FOUND':
    case 'GIT_REPO_NOT_FOUND':
    case 'GIT_SIGNATURE_INVALID':
    case 'GIT_TLS_FAILED':
    case 'GIT_INVALID_REVISION':
    case 'GIT_PUSH_REJECTED':
      return 'config';
    case 'GIT_FAILED':
      return 'report';
  }
}

describe('git-source errors', () => {
  it('are one class per package with a closed union of codes, under core\'s SourceError', () => {
    const errors = [new GitAuthError('no'), new GitTimeoutError('slow', { phase: 'connect', url: 'https://git.example/r.git', timeoutMs: 1 })];
    for (const error of errors) {
      expect(error).toBeInstanceOf(GitSourceError);
      expect(error).toBeInstanceOf(SourceError);
      expect(error).toBeInstanceOf(ConvergeError);
    }
    expect(errors.map((e) => advice(e.code))).toEqual(['credentials', 'retry']);
    expect(errors[1]!.retryable).toBe(true);
  });
});
