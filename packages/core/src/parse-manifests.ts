import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { InvalidObjectError, ManifestSyntaxError } from './errors.js';
import type { FilePosition } from './errors.js';
import { recordProvenance } from './internal/provenance.js';
import { YAML_OPTIONS } from './internal/yaml-schema.js';
import { formatRef, refOf } from './object.js';
import type { KubeObject } from './object.js';
import { formatPosition } from './origin.js';
import { HOOK_ANNOTATION } from './phases.js';

/**
 * Parses the Kubernetes objects in one file: multi-document YAML or JSON (JSON is YAML).
 *
 * - Empty documents (only comments, `---` separators, `~`) are skipped.
 * - `List` and `*List` kinds with an `items` array are flattened into their items.
 * - Each object's origin (`file:line` of its document or list item) is recorded; read it
 *   with `originOf`.
 * - Scalars follow kubectl's YAML 1.1 rules: `0644` is octal, `yes`/`on` are booleans.
 *
 * It is renderer-neutral: `yamlFiles` uses it for files, `helmChart` for Helm's output.
 *
 * @param text - the file's content.
 * @param file - the path to name in errors and origins.
 * @throws {@link ManifestSyntaxError} (`YAML_SYNTAX`) with the 1-based line and column of the
 *   first syntax error.
 * @throws {@link InvalidObjectError} (`INVALID_OBJECT`) for a document that is not an object
 *   with `apiVersion`, `kind` and `metadata.name`, or whose labels/annotations are not strings.
 * @example
 * ```ts
 * const objects = parseManifests(await readFile('app.yaml', 'utf8'), 'app.yaml');
 * ```
 */
export function parseManifests(text: string, file: string): KubeObject[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
  const at = (offset: number): FilePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };

  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const position = at(error.pos[0]);
      const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      // Not the parser's error as cause: its message quotes the offending lines, which may be a Secret's.
      throw new ManifestSyntaxError(`${formatPosition(position)}: invalid YAML: ${reason}. Fix the syntax there.`, position, {
        data: { yamlCode: error.code },
      });
    }
  }

  const objects: KubeObject[] = [];
  for (const doc of docs) {
    const node = doc.contents;
    if (node === null) continue;
    const start = at(node.range?.[0] ?? doc.range[0]);
    const position: FilePosition = { file, line: start.line };
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      throw new ManifestSyntaxError(
        `${formatPosition(position)}: invalid YAML: ${(error as Error).message}. Fix the aliases in this document.`,
        position,
        { cause: error },
      );
    }
    if (value === null || value === undefined) continue;
    collect(value, node, position, doc, objects, at);
  }
  return objects;
}

function collect(
  value: unknown,
  node: YamlNode | null | undefined,
  position: FilePosition,
  doc: Document,
  out: KubeObject[],
  at: (offset: number) => FilePosition,
): void {
  const where = formatPosition(position);
  if (!isPlainObject(value)) {
    throw new InvalidObjectError(
      `${where}: this document is ${Array.isArray(value) ? 'a list' : `the ${typeof value} ${JSON.stringify(value)}`}, not a Kubernetes object; a manifest is a mapping with apiVersion, kind and metadata.name`,
      position,
    );
  }
  if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    const itemsNode = isMap(node) ? node.get('items', true) : undefined;
    value.items.forEach((item: unknown, index) => {
      const itemNode = isSeq(itemsNode) ? (itemsNode.items[index] as YamlNode | undefined) : undefined;
      const offset = itemNode?.range?.[0];
      const itemPosition = offset === undefined ? position : { file: position.file, line: at(offset).line };
      collect(item, itemNode, itemPosition, doc, out, at);
    });
    return;
  }
  const obj = validate(value, position, node, at);
  const plainScalars = new Set<string>();
  findPlainTemplates(node, '', doc, plainScalars, new Set());
  recordProvenance(obj, plainScalars.size > 0 ? { position, plainScalars } : { position });
  out.push(obj);
}

function validate(
  value: Record<string, unknown>,
  position: FilePosition,
  node: YamlNode | null | undefined,
  at: (offset: number) => FilePosition,
): KubeObject {
  const where = formatPosition(position);
  const need = 'every manifest needs apiVersion, kind and metadata.name';
  const { apiVersion, kind, metadata } = value;
  if (typeof kind !== 'string' || kind === '') {
    throw new InvalidObjectError(`${where}: this document has no kind; ${need}. Add a kind (e.g. kind: ConfigMap).`, position);
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    throw new InvalidObjectError(`${where}: this ${kind} has no apiVersion; ${need}. Add one (e.g. apiVersion: v1).`, position);
  }
  if (!isPlainObject(metadata)) {
    throw new InvalidObjectError(`${where}: this ${kind} has no metadata; ${need}. Add metadata.name.`, position);
  }
  const namedLater = metadata.generateName !== undefined && typeof metadata.generateName === 'string' && isHook(metadata);
  if ((typeof metadata.name !== 'string' || metadata.name === '') && !namedLater) {
    const hint =
      metadata.generateName !== undefined
        ? 'metadata.generateName can only be used by hooks (each pass would create a new object); set metadata.name instead.'
        : typeof metadata.name === 'number' || typeof metadata.name === 'boolean'
          ? `metadata.name must be a string: quote it (name: "${String(metadata.name)}").`
          : `${need}. Add metadata.name.`;
    throw new InvalidObjectError(`${where}: this ${kind} has no metadata.name; ${hint}`, position);
  }
  if (metadata.namespace === null) delete metadata.namespace;
  if (metadata.namespace !== undefined && (typeof metadata.namespace !== 'string' || metadata.namespace === '')) {
    throw new InvalidObjectError(`${where}: ${kind} ${metadata.name} has an invalid metadata.namespace ${JSON.stringify(metadata.namespace)}; it must be a non-empty string.`, position);
  }
  const obj = value as KubeObject;
  for (const field of ['labels', 'annotations'] as const) {
    const map: unknown = metadata[field];
    if (map === null) {
      delete metadata[field];
      continue;
    }
    if (map === undefined) continue;
    if (!isPlainObject(map)) {
      throw new InvalidObjectError(`${where}: metadata.${field} of ${formatRef(refOf(obj))} must be a mapping of strings.`, position, {
        data: { ref: refOf(obj) },
      });
    }
    for (const [key, entry] of Object.entries(map)) {
      if (typeof entry === 'string') continue;
      const entryNode = isMap(node) ? node.getIn(['metadata', field, key], true) : undefined;
      const offset = (entryNode as YamlNode | undefined)?.range?.[0];
      const entryPosition = offset === undefined ? position : { file: position.file, line: at(offset).line };
      throw new InvalidObjectError(
        `${formatPosition(entryPosition)}: ${field.slice(0, -1)} ${JSON.stringify(key)} of ${formatRef(refOf(obj))} is ${entry === null ? 'null' : `the ${typeof entry} ${JSON.stringify(entry)}`}; label and annotation values must be strings: quote it (${key}: "${entry === null ? '' : String(entry)}").`,
        entryPosition,
        { data: { ref: refOf(obj) } },
      );
    }
  }
  return obj;
}

/** Records JSON pointers of plain (unquoted) string scalars that contain `${`. */
function findPlainTemplates(
  node: YamlNode | null | undefined,
  pointer: string,
  doc: Document,
  out: Set<string>,
  seen: Set<YamlNode>,
): void {
  if (!node || seen.has(node)) return;
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target) findPlainTemplates(target, pointer, doc, out, new Set([...seen, node]));
    return;
  }
  if (isScalar(node)) {
    if (node.type === 'PLAIN' && typeof node.value === 'string' && node.value.includes('${')) out.add(pointer);
    return;
  }
  seen.add(node);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'string' && typeof pair.key.value !== 'number' && typeof pair.key.value !== 'boolean') continue;
      const key = String(pair.key.value);
      if (key === '<<') continue; // merged values are not tracked: they keep their string type
      findPlainTemplates(pair.value as YamlNode | null, `${pointer}/${escapePointer(key)}`, doc, out, seen);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => findPlainTemplates(item as YamlNode, `${pointer}/${index}`, doc, out, seen));
  }
  seen.delete(node);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Whether metadata marks a hook, which may use generateName (it is named per revision when it runs). */
function isHook(metadata: Record<string, unknown>): boolean {
  const annotations = metadata['annotations'];
  if (!isPlainObject(annotations)) return false;
  return [HOOK_ANNOTATION, 'argocd.argoproj.io/hook', 'helm.sh/hook'].some((key) => typeof annotations[key] === 'string');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
