import { SubstitutionError } from '../errors.js';
import { provenanceOf } from '../internal/provenance.js';
import { resolvePlainScalar } from '../internal/yaml-schema.js';
import { formatRef, refOf } from '../object.js';
import type { KubeObject } from '../object.js';
import { formatPosition, inheritOrigin, originOf } from '../origin.js';
import { named, type Transform } from '../renderer.js';

/** Options for {@link substitute}. */
export interface SubstituteOptions {
  /**
   * Whether a `${VAR}` with no value and no default is an error (Flux's `--strict`).
   * When `false` it becomes the empty string.
   * @default true
   */
  strict?: boolean;
}

/** Annotations that turn substitution off for one object (Flux's and Converge's own). */
export const SUBSTITUTE_DISABLED_ANNOTATIONS = ['kustomize.toolkit.fluxcd.io/substitute', 'converge.dev/substitute'] as const;

const REFERENCE = /(\$?)\$\{([^{}]*)\}/g;
const EXPRESSION = /^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-=])([\s\S]*))?$/;
const NAME_START = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/**
 * A transform that replaces `${VAR}` in string values, in the style of Flux's post-build
 * variable substitution:
 *
 * - `${VAR}` — the value of `VAR`; unset is an error in strict mode (the default).
 * - `${VAR:=default}` or `${VAR:-default}` — `default` when `VAR` is unset or empty;
 *   `${VAR=default}` or `${VAR-default}` — only when unset.
 * - `$${VAR}` — the literal text `${VAR}`.
 * - `${…}` that does not start with a variable name (`${1}`, `${@}`) is left as it is.
 *
 * Values are replaced, keys are not. As with Flux, where the YAML had an unquoted value,
 * the result is read as YAML again: `replicas: ${N}` with `N=3` gives the number 3, while
 * `"${N}"` stays the string `"3"`. Objects annotated
 * `kustomize.toolkit.fluxcd.io/substitute: disabled` or `converge.dev/substitute: disabled`
 * are left alone. Objects are copied, never changed in place.
 *
 * @param vars - variable values by name.
 * @throws {@link SubstitutionError} (`SUBSTITUTION`) naming the variable, the object and its
 *   file:line, for an unset variable in strict mode or an unsupported `${VAR…}` form.
 * @example
 * ```ts
 * const render = pipe(yamlFiles(), substitute({ CLUSTER: 'prod-eu', REPLICAS: '3' }));
 * ```
 */
export function substitute(vars: Record<string, string>, options: SubstituteOptions = {}): Transform {
  const strict = options.strict ?? true;
  const values = new Map(Object.entries(vars));
  return named('substitute', (objects: KubeObject[]) =>
    objects.map((obj) => {
      const annotations = obj.metadata.annotations ?? {};
      if (SUBSTITUTE_DISABLED_ANNOTATIONS.some((key) => annotations[key] === 'disabled')) return obj;
      const plain = provenanceOf(obj)?.plainScalars;
      const replace = (text: string, pointer: string): unknown => {
        if (!text.includes('${')) return text;
        const replaced = text.replace(REFERENCE, (whole, escape: string, expression: string) => {
          if (escape) return whole.slice(1);
          const value = evaluate(expression, values, strict);
          if (value !== undefined) return value;
          if (!NAME_START.test(expression)) return whole;
          throw failure(obj, pointer, expression, strict);
        });
        return plain?.has(pointer) ? resolvePlainScalar(replaced) : replaced;
      };
      return inheritOrigin(walk(structuredClone(obj), '', replace) as KubeObject, obj);
    }),
  );
}

/** The value of `${expression}`, or `undefined` when it cannot be given one (unset, unsupported, not a name). */
function evaluate(expression: string, values: ReadonlyMap<string, string>, strict: boolean): string | undefined {
  const match = EXPRESSION.exec(expression);
  if (!match) return undefined;
  const [, name, operator, fallback] = match as unknown as [string, string, string | undefined, string | undefined];
  const value = values.get(name);
  if (operator === undefined) return value ?? (strict ? undefined : '');
  const useDefault = operator.startsWith(':') ? value === undefined || value === '' : value === undefined;
  return useDefault ? (fallback ?? '') : value;
}

function failure(obj: KubeObject, pointer: string, expression: string, strict: boolean): SubstitutionError {
  const ref = refOf(obj);
  const position = originOf(obj);
  const where = `${position ? `${formatPosition(position)}: ` : ''}${formatRef(ref)} at ${pointer || '/'}`;
  const name = NAME_START.exec(expression)?.[0] ?? expression;
  const supported = EXPRESSION.test(expression);
  const message =
    supported && strict
      ? `${where}: variable ${name} is not set; give it a value, a default with \${${name}:=value}, escape it as $\${${name}}, or annotate the object converge.dev/substitute: disabled`
      : `${where}: \${${expression}} is not a supported substitution (use \${${name}}, \${${name}:=default} or \${${name}:-default}); escape it as $\${${expression}} or annotate the object converge.dev/substitute: disabled`;
  return new SubstitutionError(message, { ref, ...(position && { position }), variable: name, pointer });
}

function walk(value: unknown, pointer: string, replace: (text: string, pointer: string) => unknown): unknown {
  if (typeof value === 'string') return replace(value, pointer);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = walk(value[i], `${pointer}/${i}`, replace);
    return value;
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      record[key] = walk(record[key], `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, replace);
    }
  }
  return value;
}
