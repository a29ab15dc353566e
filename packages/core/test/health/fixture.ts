import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/object.js';

const dir = new URL('../fixtures/health/', import.meta.url);

/** The document named `name` in `test/fixtures/health/<file>.yaml`. */
export function fixture(file: string, name: string): KubeObject {
  const docs = parseAllDocuments(readFileSync(new URL(`${file}.yaml`, dir), 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length > 0) throw doc.errors[0];
    const obj = doc.toJS() as KubeObject;
    if (obj.metadata.name === name) return obj;
  }
  throw new Error(`no document named ${name} in ${file}.yaml`);
}
