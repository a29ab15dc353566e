import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * A distinct marker to hide in a Secret value. Its length is a multiple of 3, so its base64
 * form is also a prefix of the base64 of any value that starts with it.
 */
export function marker(label: string): string {
  const text = `MK${label.toUpperCase()}${randomBytes(6).toString('hex').toUpperCase()}`;
  return text.padEnd(Math.ceil(text.length / 3) * 3, 'Z');
}

/** A numeric marker, for values that must be numbers. */
export function numericMarker(): number {
  return 900_000_000_000 + randomBytes(4).readUInt32BE(0);
}

/** The forms a marker could take in a server message: as written, and base64 encoded. */
export function markerForms(m: string | number): string[] {
  const plain = String(m);
  const b64 = Buffer.from(plain).toString('base64').replace(/=+$/, '');
  return [plain, b64];
}

/**
 * All text reachable from a value: `util.inspect` with hidden properties and unlimited depth
 * (message, stack, cause chain, data) plus JSON of an error's own fields.
 */
export function reachableText(value: unknown): string {
  const parts = [inspect(value, { depth: null, showHidden: true, maxStringLength: null, maxArrayLength: null })];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Error) {
      parts.push(v.message, v.stack ?? '', JSON.stringify({ ...v, message: v.message }));
      walk(v.cause);
    }
    for (const child of Object.values(v)) walk(child);
  };
  walk(value);
  return parts.join('\n');
}

/** The markers (in any form) that `text` contains. */
export function leakedMarkers(text: string, markers: readonly (string | number)[]): string[] {
  return markers.flatMap(markerForms).filter((form) => text.includes(form));
}
