import { isScalar, parseDocument } from 'yaml';
import type { DocumentOptions, ParseOptions, SchemaOptions } from 'yaml';

/**
 * How Converge reads YAML: like `kubectl` (sigs.k8s.io/yaml on go-yaml v2), i.e. YAML 1.1
 * scalars — `0644` is octal 420, `yes`/`on` are booleans, `<<` merges — but without the
 * YAML 1.1 types go-yaml leaves as strings: sexagesimal numbers (`1:20`) and timestamps.
 * Duplicate keys are errors, as they are for kubectl.
 */
export const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  merge: true,
  uniqueKeys: true,
  customTags: (tags) =>
    tags.filter(
      (tag) => typeof tag !== 'object' || (tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME'),
    ),
};

/**
 * What `text` means as a plain (unquoted) YAML scalar: `3` → 3, `true` → true, `` → null,
 * `web` → 'web'. Text that would not stay one plain scalar (`a: b`, `[x]`) stays a string.
 */
export function resolvePlainScalar(text: string): unknown {
  if (text.includes('\n')) return text;
  const doc = parseDocument(text, YAML_OPTIONS);
  if (doc.errors.length > 0 || doc.warnings.length > 0) return text;
  if (doc.contents === null) return null;
  if (!isScalar(doc.contents) || doc.contents.type !== 'PLAIN') return text;
  const value: unknown = doc.contents.value;
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) ? value : text;
}
