import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convergeCacheDir, goBuildCacheDir, isExecutableFile } from '../../src/testing/index.js';

const goBuild = join(import.meta.dirname, '..', '..', 'scripts', 'go-build.sh');

describe('go build cache paths', () => {
  it('computes the folder go-build.sh publishes into, from the same files in the same order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'go-build-cache-'));
    writeFileSync(join(dir, 'go.mod'), 'module example\n');
    writeFileSync(join(dir, 'build.sh'), 'echo build\n');
    const files = [join(dir, 'go.mod'), goBuild, join(dir, 'build.sh')];
    // go-build.sh's own input_hash, run by bash, is the reference.
    const script = `source ${JSON.stringify(goBuild)} probe && input_hash ${files.map((f) => JSON.stringify(f)).join(' ')}`;
    const hash = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trim();
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    const env = { CONVERGE_CACHE_DIR: join(dir, 'cache') };
    expect(goBuildCacheDir('tool', files, env)).toBe(join(dir, 'cache', 'tool', hash));
    expect(goBuildCacheDir('tool', [...files].reverse(), env)).not.toBe(join(dir, 'cache', 'tool', hash));
  });

  it('finds the cache root as the script does: CONVERGE_CACHE_DIR, then XDG_CACHE_HOME, then HOME', () => {
    expect(convergeCacheDir({ CONVERGE_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(convergeCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/converge');
    expect(convergeCacheDir({ HOME: '/h' })).toBe('/h/.cache/converge');
  });

  it('tells an executable file from a plain file, a folder and nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'go-build-cache-'));
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool'), 0o755);
    writeFileSync(join(dir, 'data'), 'x');
    chmodSync(join(dir, 'data'), 0o644);
    expect(isExecutableFile(join(dir, 'tool'))).toBe(true);
    expect(isExecutableFile(dir)).toBe(false);
    expect(isExecutableFile(join(dir, 'missing'))).toBe(false);
    if (process.getuid?.() !== 0) expect(isExecutableFile(join(dir, 'data'))).toBe(false);
  });
});
