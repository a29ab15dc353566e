import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const hasGo = (() => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// The Go engine's own unit tests (engine/render_test.go): walk order, .helmignore,
// failure kinds, output bound. They run natively; the same code runs in the wasm.
describe.skipIf(!hasGo)('Go engine', () => {
  it('passes `go test`', { timeout: 600_000 }, () => {
    // Same flags as scripts/build-helm.sh, so the natively compiled Helm packages come from the build cache.
    const out = execFileSync('go', ['test', '-count=1', '-trimpath', './...'], {
      cwd: join(import.meta.dirname, '..', 'engine'),
      encoding: 'utf8',
      env: { ...process.env, GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
    });
    expect(out).toMatch(/^ok\s/m);
  });
});
