import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_ERROR_CODES, isCoreError } from '../../src/core-error-code.js';
import { ConvergeError, ManifestSyntaxError, toConvergeError } from '../../src/errors.js';

const src = join(import.meta.dirname, '../../src');

/** Every code literal core's sources construct an error with: `super('X'`, `new SomeError('X'` (file by code). */
function codesThrownInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('process-start-error.ts')) continue;
    const text = readFileSync(join(src, file), 'utf8');
    // A test harness's start failure has its own closed union (ProcessStartErrorCode).
    for (const m of text.matchAll(/(?:\bsuper|\bnew (?!ProcessStartError)\w*Error)\(\s*'([A-Z][A-Z_]+)'/g)) found.set(m[1]!, file);
  }
  return found;
}

describe('core error codes', () => {
  it('every code core constructs an error with is in CORE_ERROR_CODES', () => {
    const thrown = codesThrownInSource();
    expect(thrown.size).toBeGreaterThan(20);
    const missing = [...thrown].filter(([code]) => !(CORE_ERROR_CODES as readonly string[]).includes(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });

  it('toConvergeError, the boundary for unknown throws, answers with core codes', () => {
    const internal = toConvergeError(new TypeError('x is undefined'));
    const aborted = toConvergeError(new DOMException('stop', 'AbortError'));
    const thrownString = toConvergeError('a string');
    expect([internal.code, aborted.code, thrownString.code]).toEqual(['INTERNAL', 'ABORTED', 'INTERNAL']);
    expect([internal, aborted, thrownString].every(isCoreError)).toBe(true);
  });

  it("isCoreError tells core's codes from other packages'", () => {
    expect(isCoreError(new ManifestSyntaxError('bad', { file: 'a.yaml' }))).toBe(true);
    expect(isCoreError(new ConvergeError('OCI_UNREACHABLE', 'down'))).toBe(false);
    expect(isCoreError(new Error('not a ConvergeError'))).toBe(false);
  });
});
