import { type KubeObject, setOrigin } from '@converge/core';
import { LineCounter, parseAllDocuments } from 'yaml';
import { helmError } from '../errors.js';

// TODO(core): swap for core's parseManifests once @converge/core exports it; this file is
// the only place that parses Helm's output.

const SOURCE = /^# Source: (.+)$/gm;

/**
 * Parses `helm template` output into Kubernetes objects, skipping empty documents and
 * flattening `List` kinds. Each object's origin is the template it came from (the
 * `# Source:` comment Helm writes), e.g. `web/templates/deployment.yaml`.
 * Scalars follow YAML 1.1, as Kubernetes reads them (`0644` is octal, `yes` a boolean).
 *
 * @throws HelmError `HELM_MANIFEST_INVALID` naming the template and line.
 */
export function parseHelmOutput(text: string, chart: string): KubeObject[] {
  const sources: { offset: number; file: string }[] = [];
  for (const m of text.matchAll(SOURCE)) sources.push({ offset: m.index, file: m[1]!.trim() });
  const sourceAt = (offset: number): string => {
    let file = chart;
    for (const s of sources) {
      if (s.offset > offset) break;
      file = s.file;
    }
    return file;
  };

  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { version: '1.1', merge: true, lineCounter, prettyErrors: false });
  const objects: KubeObject[] = [];
  for (const doc of docs) {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const file = sourceAt(start);
    const error = doc.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw helmError('HELM_MANIFEST_INVALID', `${file}: Helm rendered invalid YAML: ${error.message}`, {
        position: { file, line, column: col },
        chart,
      });
    }
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue;
    for (const obj of flatten(value)) objects.push(setOrigin(check(obj, file, chart), { file }));
  }
  return objects;
}

function flatten(value: unknown): unknown[] {
  if (isRecord(value) && typeof value['kind'] === 'string' && value['kind'].endsWith('List') && Array.isArray(value['items'])) {
    return value['items'] as unknown[];
  }
  return [value];
}

function check(value: unknown, file: string, chart: string): KubeObject {
  const fail = (why: string) =>
    helmError('HELM_MANIFEST_INVALID', `${file}: rendered document is not a Kubernetes object: ${why}`, {
      position: { file },
      chart,
    });
  if (!isRecord(value)) throw fail('not a mapping');
  if (typeof value['apiVersion'] !== 'string' || !value['apiVersion']) throw fail('no apiVersion');
  if (typeof value['kind'] !== 'string' || !value['kind']) throw fail('no kind');
  const metadata = value['metadata'];
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string' || !metadata['name']) {
    // generateName is valid for objects created once (hooks such as test pods).
    if (!isRecord(metadata) || typeof metadata['generateName'] !== 'string') throw fail('no metadata.name');
  }
  return value as KubeObject;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
