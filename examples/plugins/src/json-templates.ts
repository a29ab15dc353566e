import { ConvergeError, InvalidObjectError, named, setOrigin, type ConvergeErrorData, type KubeObject, type Renderer } from '@converge/core';

/** Options of {@link jsonTemplates}. */
export interface JsonTemplatesOptions {
  /** The folder of the artifact holding the templates. @default '' (the whole artifact) */
  path?: string;
  /** Parameter values; they override the folder's `params.json`. @default {} */
  params?: Record<string, unknown>;
}

/** The failure kinds of {@link jsonTemplates}. */
export type TemplateErrorCode = 'TEMPLATE_SYNTAX' | 'PARAM_MISSING' | 'PARAMS_INVALID';

/** A template could not be rendered. `data.position` names the file (and line for syntax errors). */
export class TemplateError extends ConvergeError {
  declare readonly code: TemplateErrorCode;
  constructor(code: TemplateErrorCode, message: string, data: ConvergeErrorData) {
    super(code, message, { data });
  }
}

const PARAMS_FILE = 'params.json';

/**
 * A {@link Renderer} for JSON manifests with typed parameters: each `*.json` file under `path`
 * holds one object or an array of objects, and any value written `{ "$param": "replicas" }`
 * (optionally with `"default": …`) becomes that parameter's value, of any JSON type — a number
 * stays a number, which `${VAR}` text substitution cannot do. Parameters come from
 * `<path>/params.json`, overridden by `params`.
 *
 * Objects keep their file as origin, so later errors name it. Errors are typed
 * ({@link TemplateError}) and never quote file contents or parameter values.
 *
 * @example
 * ```ts
 * const render = jsonTemplates({ path: 'deploy', params: { replicas: 3, tag: '1.4.2' } });
 * ```
 */
export function jsonTemplates(options: JsonTemplatesOptions = {}): Renderer {
  const root = (options.path ?? '').replace(/^\/+|\/+$/g, '');
  const inRoot = (file: string) => (root === '' ? file : `${root}/${file}`);

  return named('jsonTemplates', async ({ artifact, signal }) => {
    const files = (await artifact.files.list(root)).filter((f) => f.endsWith('.json'));
    const params = { ...(files.includes(inRoot(PARAMS_FILE)) ? await readParams(inRoot(PARAMS_FILE)) : {}), ...options.params };
    const objects: KubeObject[] = [];
    for (const file of files) {
      signal?.throwIfAborted();
      if (file === inRoot(PARAMS_FILE)) continue;
      const parsed = parseJson(new TextDecoder().decode(await artifact.files.read(file)), file);
      for (const [i, doc] of (Array.isArray(parsed) ? parsed : [parsed]).entries()) {
        const where = Array.isArray(parsed) ? `/${i}` : '';
        const obj = fill(doc, params, file, where);
        if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
          throw new InvalidObjectError(`${file}${where ? ` item ${i}` : ''}: expected a Kubernetes object, got ${Array.isArray(obj) ? 'an array' : typeof obj}`, { file });
        }
        objects.push(setOrigin(obj as KubeObject, { file }));
      }
    }
    return objects;

    async function readParams(file: string): Promise<Record<string, unknown>> {
      const parsed = parseJson(new TextDecoder().decode(await artifact.files.read(file)), file);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new TemplateError('PARAMS_INVALID', `${file}: expected an object of parameter names to values`, { position: { file } });
      }
      return parsed as Record<string, unknown>;
    }
  });
}

/** Parses JSON; a syntax error names the file and line but never quotes the text (it may be a secret). */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const at = /\(line (\d+) column (\d+)\)/.exec(error instanceof Error ? error.message : '');
    const position = at ? { file, line: Number(at[1]), column: Number(at[2]) } : { file };
    const where = at ? `${file}:${at[1]}:${at[2]}` : file;
    // No `cause`: the parser's message quotes the text around the error.
    throw new TemplateError('TEMPLATE_SYNTAX', `${where}: invalid JSON; check for a missing comma, quote or bracket there`, { position });
  }
}

/** `value` with every `{ "$param": name }` replaced; `pointer` is the JSON pointer, for errors. */
function fill(value: unknown, params: Record<string, unknown>, file: string, pointer: string): unknown {
  if (Array.isArray(value)) return value.map((item, i) => fill(item, params, file, `${pointer}/${i}`));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const name = record['$param'];
  if (typeof name === 'string' && Object.keys(record).every((k) => k === '$param' || k === 'default')) {
    if (Object.hasOwn(params, name)) return structuredClone(params[name]);
    if (Object.hasOwn(record, 'default')) return record['default'];
    throw new TemplateError('PARAM_MISSING', `${file}: ${pointer || '/'} needs parameter "${name}", which is not set; add it to ${PARAMS_FILE} or the renderer's params`, {
      position: { file },
      param: name,
      pointer,
    });
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fill(v, params, file, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`)]));
}
