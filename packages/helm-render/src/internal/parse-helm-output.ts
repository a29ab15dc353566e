import { ConvergeError, type KubeObject, parseManifests } from '@converge/core';
import { helmError } from '../errors.js';

// Every section Helm prints starts with "---\n# Source: <chart>/templates/<file>\n".
const SECTION = /^---\n# Source: (.+)\n/gm;

/**
 * Parses `helm template` output into Kubernetes objects with core's `parseManifests`, one
 * `# Source:` section at a time, so each object's origin is the template it came from
 * (e.g. `web/templates/deployment.yaml`, with the line in that template's rendered output).
 * Empty documents are skipped, `List` kinds flattened, scalars read as Kubernetes reads them.
 *
 * @throws HelmError `HELM_MANIFEST_INVALID` naming the template and line (the core error as `cause`).
 */
export function parseHelmOutput(text: string, chart: string): KubeObject[] {
  const sections: { file: string; start: number; end: number }[] = [];
  let head = '';
  for (const m of text.matchAll(SECTION)) {
    const last = sections.at(-1);
    if (last) last.end = m.index;
    else head = text.slice(0, m.index);
    sections.push({ file: m[1]!.trim(), start: m.index + m[0].length, end: text.length });
  }
  if (sections.length === 0) head = text;

  const objects: KubeObject[] = [];
  const parse = (body: string, file: string) => {
    try {
      objects.push(...parseManifests(body, file));
    } catch (err) {
      if (!(err instanceof ConvergeError)) throw err;
      throw helmError('HELM_MANIFEST_INVALID', `Helm rendered an invalid manifest: ${err.message}`, { ...err.data, chart }, err);
    }
  };
  if (head.trim()) parse(head, chart);
  for (const s of sections) parse(text.slice(s.start, s.end), s.file);
  return objects;
}
