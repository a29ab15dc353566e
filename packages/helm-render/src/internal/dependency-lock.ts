import { createHash } from 'node:crypto';

/**
 * A dependency of a chart, as Helm's `chart.Dependency` holds it (the fields `Chart.yaml`,
 * `requirements.yaml`, `Chart.lock` and `requirements.lock` may set).
 */
export interface ChartDependency {
  name: string;
  version: string;
  repository: string;
  condition: string;
  tags: string[];
  enabled: boolean;
  importValues: unknown[];
  alias: string;
}

/** A parsed `Chart.lock` (or `requirements.lock`). */
export interface ChartLock {
  digest: string;
  /** `null` when the lock has no `dependencies` list. */
  dependencies: (ChartDependency | null)[] | null;
}

/**
 * Reads one entry of a `dependencies` list the way `sigs.k8s.io/yaml` fills Helm's
 * `chart.Dependency`: scalars where a string is expected become strings; `sanitize` applies
 * `Dependency.Validate` (done for `Chart.yaml`, not for the lock).
 */
export function toDependency(raw: unknown, sanitize: boolean): ChartDependency | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const clean = sanitize ? sanitizeString : (s: string) => s;
  const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v));
  return {
    name: clean(str(r['name'])),
    version: clean(str(r['version'])),
    repository: clean(str(r['repository'])),
    condition: clean(str(r['condition'])),
    tags: Array.isArray(r['tags']) ? r['tags'].map((t) => clean(str(t))) : [],
    enabled: r['enabled'] === true,
    importValues: Array.isArray(r['import-values']) ? r['import-values'] : [],
    alias: str(r['alias']),
  };
}

/** Reads a lock file's `digest` and `dependencies`. */
export function toLock(raw: unknown): ChartLock {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const deps = r['dependencies'];
  return {
    digest: typeof r['digest'] === 'string' ? r['digest'] : '',
    dependencies: Array.isArray(deps) ? deps.map((d) => toDependency(d, false)) : null,
  };
}

/**
 * Helm's `resolver.HashReq`: the SHA-256 of `json.Marshal([2][]*Dependency{req, lock})`,
 * `sha256:`-prefixed. `helm dependency build` refuses a lock whose digest differs.
 */
export function hashReq(req: (ChartDependency | null)[] | null, lock: (ChartDependency | null)[] | null): string {
  return digest(`[${depsJson(req)},${depsJson(lock)}]`);
}

/** Helm's `resolver.HashV2Req`, for `requirements.lock` files written by Helm 2. */
export function hashV2Req(req: (ChartDependency | null)[] | null): string {
  return digest(`{"dependencies":${depsJson(req)}}`);
}

const digest = (json: string) => `sha256:${createHash('sha256').update(json, 'utf8').digest('hex')}`;

function depsJson(deps: (ChartDependency | null)[] | null): string {
  if (deps === null) return 'null';
  return `[${deps.map(depJson).join(',')}]`;
}

/** `json.Marshal` of a `chart.Dependency`: its fields in struct order, `omitempty` honoured. */
function depJson(d: ChartDependency | null): string {
  if (d === null) return 'null';
  const fields: string[] = [`"name":${goJson(d.name)}`];
  if (d.version) fields.push(`"version":${goJson(d.version)}`);
  fields.push(`"repository":${goJson(d.repository)}`);
  if (d.condition) fields.push(`"condition":${goJson(d.condition)}`);
  if (d.tags.length > 0) fields.push(`"tags":${goJson(d.tags)}`);
  if (d.enabled) fields.push(`"enabled":true`);
  if (d.importValues.length > 0) fields.push(`"import-values":${goJson(d.importValues)}`);
  if (d.alias) fields.push(`"alias":${goJson(d.alias)}`);
  return `{${fields.join(',')}}`;
}

/** Go's `encoding/json` output for a JSON value: map keys sorted, HTML-safe string escapes. */
function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${goString(k)}:${goJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(String(v));
}

const GO_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (GO_ESCAPES[ch]) out += GO_ESCAPES[ch];
    else if (code < 0x20 || ch === '<' || ch === '>' || ch === '&' || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

/** Helm's `sanitizeString`: white space becomes a space, unprintable characters are removed. */
function sanitizeString(s: string): string {
  return s.replace(/[\t\n\v\f\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/gu, ' ').replace(/[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu, '');
}
