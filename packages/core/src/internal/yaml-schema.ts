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
  if (isCertainlyString(text)) return text;
  const cached = cache.get(text);
  if (cached !== undefined || cache.has(text)) return cached;
  const value = parsePlainScalar(text);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(text, value);
  return value;
}

const CACHE_SIZE = 1000;
const cache = new Map<string, unknown>();

/** YAML 1.1 words that resolve to booleans or null. */
const WORDS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'on', 'On', 'ON', 'off', 'Off', 'OFF', 'null', 'Null', 'NULL']);

/**
 * A quick check that spares a parse for the common case (`img:1.2`, `prod-eu`): text that
 * cannot start a number or an indicator, is not a YAML 1.1 word and has no `: ` or ` #`.
 */
function isCertainlyString(text: string): boolean {
  return text !== '' && /^[a-zA-Z_/]/.test(text) && !WORDS.has(text) && !/:\s|\s#|:$|\s$/.test(text);
}

function parsePlainScalar(text: string): unknown {
  const doc = parseDocument(text, YAML_OPTIONS);
  if (doc.errors.length > 0 || doc.warnings.length > 0) return text;
  if (doc.contents === null) return null;
  if (!isScalar(doc.contents) || doc.contents.type !== 'PLAIN') return text;
  const value: unknown = doc.contents.value;
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) ? value : text;
}
