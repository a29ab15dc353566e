import { isSecret, MASK } from './mask.js';
import type { KubeObject } from './object.js';
import { sensitivePathsOf } from './sensitive.js';

/**
 * Values shorter than this are not searched for in free text: masking every `1` or `ab` in
 * a message would garble it without protecting anything a reader could not guess. Sinks
 * withhold server messages about Secrets altogether, so short values are covered there.
 */
export const MIN_REDACTED_LENGTH = 4;

/**
 * The sensitive strings among `objects`: every value under a Secret's `data` (as stored,
 * base64, and decoded) and `stringData` (as written, and base64-encoded), and every value
 * marked with {@link markSensitive} on any object (as written, and base64-encoded), in every
 * form a message could quote them. Used by the runtime to scrub errors before anything
 * prints them.
 */
export function sensitiveValues(objects: readonly KubeObject[]): Set<string> {
  const values = new Set<string>();
  const add = (value: string): void => {
    if (value.length >= MIN_REDACTED_LENGTH) values.add(value);
  };
  for (const obj of objects) {
    for (const pointer of sensitivePathsOf(obj)) {
      for (const text of leavesAt(obj, pointer)) {
        add(text);
        add(Buffer.from(text, 'utf8').toString('base64'));
        add(JSON.stringify(text).slice(1, -1));
      }
    }
    if (!isSecret(obj)) continue;
    for (const field of ['data', 'stringData'] as const) {
      const map = obj[field];
      if (map === null || typeof map !== 'object') continue;
      for (const value of Object.values(map as Record<string, unknown>)) {
        const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
        add(text);
        const base64 = Buffer.from(text, 'utf8').toString('base64');
        add(base64);
        if (field === 'data' && typeof value === 'string') add(Buffer.from(value, 'base64').toString('utf8'));
        // JSON-quoted forms ("a\nb") appear in server messages and in JSON logs.
        add(JSON.stringify(text).slice(1, -1));
      }
    }
  }
  return values;
}

/** Every scalar at or under `pointer` in `doc`, as text. */
function leavesAt(doc: unknown, pointer: string): string[] {
  let node = doc;
  for (const token of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return [];
    node = (node as Record<string, unknown>)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  const out: string[] = [];
  const visit = (value: unknown): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object') for (const v of Object.values(value)) visit(v);
    else out.push(String(value));
  };
  visit(node);
  return out;
}

/** `text` with every occurrence of the given values replaced by {@link MASK}, longest first. */
export function redactText(text: string, values: ReadonlySet<string>): string {
  if (values.size === 0) return text;
  let out = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) if (out.includes(value)) out = out.split(value).join(MASK);
  return out;
}

/**
 * Scrubs the given values out of an error in place: its message, stack, `data` and every
 * error or plain object along its `cause` chain (and `errors` of aggregates). Returns the
 * error, for chaining. Nothing it can reach keeps a value, so `console.error(error)`,
 * `util.inspect` and `JSON.stringify(error.data)` are safe.
 */
export function redactError<E>(error: E, values: ReadonlySet<string>): E {
  if (values.size > 0) scrub(error, values, new Set(), 0);
  return error;
}

function scrub(value: unknown, values: ReadonlySet<string>, seen: Set<object>, depth: number): unknown {
  if (typeof value === 'string') return redactText(value, values);
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 20) return value;
  seen.add(value);
  if (value instanceof Error) {
    // message and stack are own properties of most errors; cause and errors may be too.
    for (const key of ['message', 'stack'] as const) {
      const text = value[key];
      if (typeof text === 'string') setField(value, key, redactText(text, values));
    }
  }
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    const next = scrub(field, values, seen, depth + 1);
    if (next !== field) setField(value, key, next);
  }
  if (value instanceof Error) {
    // `cause` and a native AggregateError's `errors` are own but not enumerable.
    if ('cause' in value && !Object.keys(value).includes('cause')) scrub(value.cause, values, seen, depth + 1);
    if ('errors' in value && !Object.keys(value).includes('errors')) scrub((value as { errors: unknown }).errors, values, seen, depth + 1);
  }
  return value;
}

function setField(target: object, key: string, value: unknown): void {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: Object.keys(target).includes(key) });
  } catch {
    // A frozen object cannot hold a value we put there either; leave it.
  }
}
