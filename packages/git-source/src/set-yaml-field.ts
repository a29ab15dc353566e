import { parseAllDocuments, isSeq, type Document } from 'yaml';

/** Options of {@link setYamlField}. */
export interface SetYamlFieldOptions {
  /**
   * Which documents of a multi-document file to change: a predicate on each document's plain
   * value (e.g. `(d) => d.kind === 'Deployment' && d.metadata.name === 'api'`).
   * @default the first document only
   */
  match?: (document: any) => boolean;
}

function toPath(path: string | readonly (string | number)[]): (string | number)[] {
  if (typeof path !== 'string') return [...path];
  return path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * Sets a field by path in YAML text and returns the new text, keeping comments, key order,
 * quoting and blank lines (the `yaml` package's Document API edits the parsed tree in place).
 * The path is dotted (`spec.template.spec.containers.0.image`) or an array of keys/indexes.
 * Missing maps on the way are created.
 *
 * @example
 * ```ts
 * setYamlField(text, 'spec.replicas', 3, { match: (d) => d.kind === 'Deployment' });
 * ```
 */
export function setYamlField(
  text: string,
  path: string | readonly (string | number)[],
  value: unknown,
  options: SetYamlFieldOptions = {},
): string {
  const keys = toPath(path);
  const docs = parseAllDocuments(text) as Document.Parsed[] | { errors: unknown[] };
  if (!Array.isArray(docs)) throw new Error('setYamlField: the text is not YAML');
  let changed = false;
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    const wanted = options.match ? options.match(doc.toJS()) : i === 0;
    if (!wanted) return;
    // setIn creates maps for missing keys; an index into an existing sequence edits that item.
    const parentPath = keys.slice(0, -1);
    const parent = parentPath.length ? doc.getIn(parentPath, true) : doc.contents;
    const last = keys[keys.length - 1]!;
    if (isSeq(parent) && typeof last === 'number' && last >= parent.items.length) {
      throw new RangeError(`setYamlField: index ${last} is past the end of ${parentPath.join('.')}`);
    }
    doc.setIn(keys, value);
    changed = true;
  });
  if (!changed) return text;
  return docs.map((d) => d.toString({ lineWidth: 0 })).join('');
}
