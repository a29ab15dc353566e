import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ChartFile, RenderRequest, ValuesDocument } from '../../src/index.js';

/** The fixture folder. */
export const fixtures = join(import.meta.dirname, '..', 'fixtures');

/** Every file of a fixture chart, named relative to the chart root. */
export async function chartFiles(dir: string): Promise<ChartFile[]> {
  const root = join(fixtures, dir);
  const out: ChartFile[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push({ name: relative(root, full).split('\\').join('/'), data: new Uint8Array(await readFile(full)) });
    }
  };
  await walk(root);
  return out;
}

/** A values document from an object (JSON is YAML). */
export function valuesDoc(values: unknown, name = 'values.json'): ValuesDocument {
  return { name, data: new TextEncoder().encode(JSON.stringify(values)) };
}

/** A values document from a fixture file. */
export async function valuesFile(path: string): Promise<ValuesDocument> {
  return { name: path, data: new Uint8Array(await readFile(join(fixtures, path))) };
}

/** A render request with `helm template`'s defaults. */
export function request(files: ChartFile[], over: Partial<RenderRequest> = {}): RenderRequest {
  return {
    files,
    values: [],
    releaseName: 'release-name',
    namespace: 'default',
    kubeVersion: '',
    apiVersions: [],
    includeCRDs: false,
    skipTests: false,
    disableHooks: false,
    isUpgrade: false,
    skipSchemaValidation: false,
    maxOutputBytes: 64 * 1024 * 1024,
    maxMemoryBytes: 512 * 1024 * 1024,
    timeoutMs: 60_000,
    ...over,
  };
}

/** A chart whose one template loops for hours without allocating: the engine never yields while it renders. */
export const spinningChart: ChartFile[] = [
  { name: 'Chart.yaml', data: new TextEncoder().encode('apiVersion: v2\nname: spin\nversion: 1.0.0\n') },
  { name: 'templates/spin.yaml', data: new TextEncoder().encode('{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n') },
];
