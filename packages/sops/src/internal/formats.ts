import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import { SopsError } from '../sops-error.js';
import { readMetadata, unflatten, type SopsMetadata } from './metadata.js';
import { goFormatFloat, isKeyItem, str, type Branch, type Leaf, type TreeNode } from './tree.js';

/** The file formats sops writes; `binary` is any other file, stored by sops as JSON `{ data, sops }`. */
export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

/** The format sops picks for a file name (its `--input-type` default). */
export function formatOf(path: string): SopsFormat {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  if (ext === 'json') return 'json';
  if (ext === 'env') return 'dotenv';
  if (ext === 'ini') return 'ini';
  return 'binary';
}

/** An encrypted file read into sops' tree: its documents (metadata removed) and metadata. */
export interface LoadedFile {
  branches: Branch[];
  meta: SopsMetadata;
  /** For YAML: the 1-based line each document starts on, as core's parseManifests records it. */
  lines?: number[];
}

/** Whether a file's text looks like something sops encrypted, in the given format. */
export function looksEncrypted(text: string, format: SopsFormat): boolean {
  switch (format) {
    case 'yaml':
      return /^sops:\s*$/m.test(text) && /^\s+mac:\s*ENC\[/m.test(text);
    case 'json':
    case 'binary':
      return /"sops"\s*:/.test(text) && /"mac"\s*:\s*"ENC\[/.test(text);
    case 'dotenv':
      return /^sops_mac=ENC\[/m.test(text);
    case 'ini':
      return /^\[sops\]\s*$/m.test(text) && /^mac\s*[=:]\s*ENC\[/m.test(text);
  }
}

/** Reads an encrypted file into branches and metadata, as sops' stores do. */
export function loadFile(text: string, format: SopsFormat, file: string): LoadedFile {
  const malformed = (why: string) => new SopsError('SOPS_MALFORMED', `${file}: ${why}`, { data: { position: { file } } });
  if (format === 'dotenv') {
    const branch: Branch = { t: 'map', items: [] };
    const metaEntries: Array<[string, string]> = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        branch.items.push({ comment: line.slice(1) });
        continue;
      }
      const eq = line.indexOf('=');
      if (eq === -1) throw malformed(`line ${i + 1} is not KEY=value`);
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).replaceAll('\\n', '\n');
      if (key.startsWith('sops_')) metaEntries.push([key.slice(5), value]);
      else branch.items.push({ key, value: str(value) });
    }
    if (metaEntries.length === 0) throw malformed('has no sops metadata (sops_* lines); it is not encrypted with sops');
    return { branches: [branch], meta: readMetadata(unflatten(metaEntries, file), file) };
  }
  if (format === 'ini') {
    const sections = parseIni(text, file);
    const sops = sections.items.find((i) => isKeyItem(i) && i.key === 'sops');
    if (!sops || !isKeyItem(sops) || sops.value.t !== 'map') throw malformed('has no [sops] section; it is not encrypted with sops');
    const entries = sops.value.items.filter(isKeyItem).map((i): [string, string] => [i.key, i.value.t === 'str' ? i.value.v.replaceAll('\\n', '\n') : '']);
    sections.items = sections.items.filter((i) => i !== sops);
    return { branches: [sections], meta: readMetadata(unflatten(entries, file), file) };
  }
  // yaml, json and binary (JSON): YAML 1.2 reads JSON too; scalars resolved as go-yaml v3 does.
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { schema: 'failsafe', lineCounter, uniqueKeys: false });
  const branches: Branch[] = [];
  const lines: number[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      const { line } = lineCounter.linePos(doc.errors[0]!.pos[0]);
      throw malformed(`line ${line}: not valid ${format === 'yaml' ? 'YAML' : 'JSON'}`);
    }
    if (doc.contents === null) continue;
    const node = toTree(doc.contents, doc, format !== 'yaml');
    if (node.t !== 'map') throw malformed('a document that is not a mapping cannot be a sops file');
    branches.push(node);
    lines.push(lineCounter.linePos(doc.contents.range?.[0] ?? doc.range[0]).line);
  }
  if (branches.length === 0) throw malformed('is empty');
  const first = branches[0]!;
  const block = first.items.find((i) => isKeyItem(i) && i.key === 'sops');
  if (!block || !isKeyItem(block)) throw malformed('has no top-level sops key; it is not encrypted with sops');
  for (const b of branches) b.items = b.items.filter((i) => !(isKeyItem(i) && i.key === 'sops'));
  return { branches, meta: readMetadata(block.value, file), lines };
}

function toTree(node: YamlNode | null, doc: Document, json: boolean): TreeNode {
  if (node === null) return { t: 'null' };
  if (isAlias(node)) return toTree(node.resolve(doc) ?? null, doc, json);
  if (isMap(node)) {
    return {
      t: 'map',
      items: node.items.map((pair) => {
        const key = pair.key as YamlNode | null;
        const keyText = isScalar(key) ? String(key.value) : isAlias(key) ? String((key.resolve(doc) as { value?: unknown } | undefined)?.value) : '';
        return { key: keyText, value: toTree(pair.value as YamlNode | null, doc, json) };
      }),
    };
  }
  if (isSeq(node)) return { t: 'seq', items: node.items.map((item) => toTree(item as YamlNode | null, doc, json)) };
  if (isScalar(node)) {
    const text = String(node.value);
    const tag = node.tag?.replace(/^tag:yaml\.org,2002:/, '!!');
    if (tag === '!!str' || (node.type !== 'PLAIN' && !tag)) return str(text);
    return resolvePlain(text);
  }
  return { t: 'null' };
}

const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** go-yaml v3's resolution of a plain scalar into interface{} (timestamps stay strings). */
export function resolvePlain(text: string): Leaf {
  if (['', '~', 'null', 'Null', 'NULL'].includes(text)) return { t: 'null' };
  if (['true', 'True', 'TRUE'].includes(text)) return { t: 'bool', v: true };
  if (['false', 'False', 'FALSE'].includes(text)) return { t: 'bool', v: false };
  if (['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].includes(text)) return { t: 'float', v: Infinity };
  if (['-.inf', '-.Inf', '-.INF'].includes(text)) return { t: 'float', v: -Infinity };
  if (['.nan', '.NaN', '.NAN'].includes(text)) return { t: 'float', v: NaN };
  if (!/^[-+0-9.]/.test(text)) return str(text);
  const plain = text.replaceAll('_', '');
  const int = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(plain);
  if (int) {
    const [, sign, digits] = int as unknown as [string, string, string];
    const magnitude = BigInt(/^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits);
    const value = sign === '-' ? -magnitude : magnitude;
    if (value >= INT64_MIN && value <= UINT64_MAX) return { t: 'int', v: value };
  }
  if (YAML_FLOAT.test(plain)) return { t: 'float', v: Number(plain) };
  return str(text);
}

/** A minimal reader of the INI subset sops writes (gopkg.in/ini.v1 layout): sections of key = value. */
function parseIni(text: string, file: string): Branch {
  const root: Branch = { t: 'map', items: [] };
  const sectionItems = new Map<string, Branch>();
  const section = (name: string): Branch => {
    let b = sectionItems.get(name);
    if (!b) {
      b = { t: 'map', items: [] };
      sectionItems.set(name, b);
      root.items.push({ key: name, value: b });
    }
    return b;
  };
  let current = section('DEFAULT');
  let pending: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#') || line.startsWith(';')) {
      pending.push(line.replace(/^[#;]\s*/, ''));
      continue;
    }
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      current = section(header[1]!.trim());
      if (pending.length > 0) current.items.unshift({ comment: pending.join('\n') });
      pending = [];
      continue;
    }
    const at = line.search(/[=:]/);
    if (at === -1) throw new SopsError('SOPS_MALFORMED', `${file}: line ${i + 1} is not key = value`, { data: { position: { file, line: i + 1 } } });
    let value = line.slice(at + 1).trim();
    const quoted = /^"""([\s\S]*)"""$|^`([\s\S]*)`$|^"([\s\S]*)"$/.exec(value);
    if (quoted) value = quoted[1] ?? quoted[2] ?? quoted[3] ?? '';
    current.items.push({ key: line.slice(0, at).trim(), value: str(value) });
    if (pending.length > 0) current.items.push({ comment: pending.join('\n') });
    pending = [];
  }
  return root;
}

/** Writes decrypted branches back in the file's format, as `sops decrypt` prints them. */
export function emitFile(branches: Branch[], format: SopsFormat, file: string): string {
  switch (format) {
    case 'binary': {
      const data = branches[0]?.items.find((i) => isKeyItem(i) && i.key === 'data');
      if (!data || !isKeyItem(data) || data.value.t !== 'str') {
        throw new SopsError('SOPS_MALFORMED', `${file}: a sops binary file must hold one string under "data"`, { data: { position: { file } } });
      }
      return data.value.v;
    }
    case 'dotenv':
      return branches[0]!.items
        .map((item) => (isKeyItem(item) ? `${item.key}=${scalarText(item.value).replaceAll('\n', '\\n')}\n` : `#${item.comment}\n`))
        .join('');
    case 'ini':
      return emitIni(branches[0]!);
    case 'json':
      return `${emitJson(branches[0]!, '')}\n`;
    case 'yaml':
      return branches.map((b) => emitYaml(b, 0)).join('---\n');
  }
}

function scalarText(node: TreeNode): string {
  if (node.t === 'str') return node.v;
  if (node.t === 'int') return node.v.toString();
  if (node.t === 'float') return goFormatFloat(node.v);
  if (node.t === 'bool') return String(node.v);
  if (node.t === 'null') return '';
  return JSON.stringify(node);
}

function emitIni(root: Branch): string {
  const sections: string[] = [];
  for (const item of root.items) {
    let out = '';
    if (!isKeyItem(item) || item.value.t !== 'map') continue;
    const keys = item.value.items.filter(isKeyItem);
    if (item.key === 'DEFAULT' && keys.length === 0) continue;
    const width = Math.max(0, ...keys.map((k) => k.key.length));
    out += `[${item.key}]\n`;
    for (const k of keys) out += `${k.key.padEnd(width)} = ${iniValue(scalarText(k.value))}\n`;
    sections.push(out);
  }
  // gopkg.in/ini.v1: keys aligned on '=', a blank line between sections.
  return sections.join('\n');
}

function iniValue(value: string): string {
  if (value.includes('\n')) return `"""${value}"""`;
  if (/^[\s]|[\s]$|[#;`]|^"/.test(value) && !value.includes('`')) return `\`${value}\``;
  return value;
}

/** Go's json.Marshal of a string (HTML-safe escapes included). */
function goJsonString(value: string): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

function emitJson(node: TreeNode, indent: string): string {
  const step = '\t';
  if (node.t === 'map') {
    const items = node.items.filter(isKeyItem);
    if (items.length === 0) return '{}';
    return `{\n${items.map((i) => `${indent}${step}${goJsonString(i.key)}: ${emitJson(i.value, indent + step)}`).join(',\n')}\n${indent}}`;
  }
  if (node.t === 'seq') {
    if (node.items.length === 0) return '[]';
    return `[\n${node.items.map((v) => `${indent}${step}${emitJson(v, indent + step)}`).join(',\n')}\n${indent}]`;
  }
  if (node.t === 'str') return goJsonString(node.v);
  if (node.t === 'null') return 'null';
  if (node.t === 'float') return Number.isFinite(node.v) ? String(node.v) : 'null';
  return scalarText(node);
}

/** YAML in go-yaml v3's layout with sops' indent of 4 (values quoted where YAML 1.2 would read them as another type). */
function emitYaml(node: TreeNode, depth: number): string {
  const pad = '    '.repeat(depth);
  if (node.t === 'map') {
    const items = node.items.filter(isKeyItem);
    if (items.length === 0) return depth === 0 ? '{}\n' : '{}';
    return items
      .map((i) => {
        const key = yamlScalar(i.key);
        const v = i.value;
        if ((v.t === 'map' && v.items.some(isKeyItem)) || (v.t === 'seq' && v.items.length > 0)) return `${pad}${key}:\n${emitYaml(v, depth + 1)}`;
        return `${pad}${key}: ${inlineYaml(v, depth + 1)}\n`;
      })
      .join('');
  }
  if (node.t === 'seq') {
    return node.items
      .map((v) => {
        if (v.t === 'map' && v.items.some(isKeyItem)) {
          const body = emitYaml(v, depth + 1);
          return `${pad}  - ${body.slice(pad.length + 4)}`;
        }
        if (v.t === 'seq' && v.items.length > 0) return `${pad}  -\n${emitYaml(v, depth + 1)}`;
        return `${pad}  - ${inlineYaml(v, depth + 1)}\n`;
      })
      .join('');
  }
  return `${inlineYaml(node, depth)}\n`;
}

function inlineYaml(node: TreeNode, depth: number): string {
  if (node.t === 'map') return '{}';
  if (node.t === 'seq') return '[]';
  if (node.t === 'str') {
    if (node.v.includes('\n')) {
      const pad = '    '.repeat(depth);
      const chomp = node.v.endsWith('\n') ? (node.v.endsWith('\n\n') ? '+' : '') : '-';
      const body = node.v.endsWith('\n') ? node.v.slice(0, -1) : node.v;
      return `|${/^\s/.test(node.v) ? '4' : ''}${chomp}\n${body
        .split('\n')
        .map((l) => (l === '' ? '' : pad + l))
        .join('\n')}`;
    }
    return yamlScalar(node.v);
  }
  if (node.t === 'null') return 'null';
  return scalarText(node);
}

function yamlScalar(text: string): string {
  const plainOk =
    text !== '' &&
    resolvePlain(text).t === 'str' &&
    !/^[-?:,[\]{}#&*!|>'"%@`\s]/.test(text) &&
    !/[\s]$/.test(text) &&
    !/: |:$| #|[\t\x00-\x1f\x7f]/.test(text) &&
    !/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(text) &&
    !/^\d{4}-\d\d?-\d\d?/.test(text);
  if (plainOk) return text;
  return /[\x00-\x1f\x7f\\]/.test(text) || text.includes("'") ? JSON.stringify(text) : `'${text}'`;
}
