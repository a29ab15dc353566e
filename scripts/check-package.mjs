// Checks the package in the current directory as a user gets it: packs it once, then runs
// publint and Are-The-Types-Wrong on the tarball. Exits non-zero on any problem.
//
// The packages are ESM with a `default` export condition, so `require()` loads them on
// Node >= 22.12 (require(esm)); scripts/test/packed-packages.test.ts proves it on the tarballs.
// attw runs the `node16` profile: types must resolve for ESM and CommonJS consumers alike
// (only `node10`, which cannot see subpath exports, is ignored). Its `cjs-resolves-to-esm`
// rule is ignored because that is exactly what require(esm) makes work: attw (0.18) still
// reports it as TypeScript's `module: node16` did, while `node20`/`nodenext` allow it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'converge-pack-'));
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { encoding: 'utf8' }));
  const tarball = join(dir, packed.filename);
  console.log(`${packed.name}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} KiB packed`);
  execFileSync('publint', ['run', tarball, '--strict'], { stdio: 'inherit' });
  execFileSync(
    'attw',
    [tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--no-emoji', '--format', 'table-flipped'],
    { stdio: 'inherit' },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
