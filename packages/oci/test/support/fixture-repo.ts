import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A scratch folder of manifests that a test edits between passes. */
export function fixtureRepo(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'converge-oci-'));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  for (const [path, text] of Object.entries(files)) write(path, text);
  return { root, write, dispose: () => rmSync(root, { recursive: true, force: true }) };
}
