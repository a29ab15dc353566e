// Checks the package in the current directory as a user gets it: packs it once, then runs
// publint and Are-The-Types-Wrong on the tarball. Exits non-zero on any problem.
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
  execFileSync('attw', [tarball, '--profile', 'esm-only', '--no-emoji', '--format', 'table-flipped'], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
