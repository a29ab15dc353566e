import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A scratch folder of manifests that a test edits between passes. */
export function fixtureRepo(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'converge-runtime-'));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  for (const [path, text] of Object.entries(files)) write(path, text);
  return { root, write, remove: (path: string) => rmSync(join(root, path)), dispose: () => rmSync(root, { recursive: true, force: true }) };
}

export const configMap = (name: string, value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: demo
data:
  value: "${value}"
`;

export const namespace = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
`;
