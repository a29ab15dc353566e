import { ConvergeError, type FilePosition } from '@converge/core';

/**
 * One application of a fleet, as declared in a spec file (`apps/<name>.yaml`). The fleet reads
 * the common fields; `source` and `render` are the business of the fleet's `parseSpec` and
 * `createApp`, which know the source and renderer plugins in use (git, Helm, …): give
 * `parseSpec` to have them typed (`TSource`, `TRender`) instead of `Record<string, unknown>`.
 *
 * @example
 * ```yaml
 * # apps/shop.yaml
 * source: { url: https://git.example/shop.git, ref: { branch: main }, path: deploy }
 * render: { type: helm, chart: chart, values: { replicas: 2 } }
 * namespace: shop
 * intervalMs: 300000        # 5 minutes
 * dependsOn: [infra]
 * ```
 */
export interface AppSpec<TSource = Record<string, unknown>, TRender = Record<string, unknown>> {
  /** The application's name. @default the spec file's name without extension */
  name: string;
  /** Where its desired state lives; interpreted by `createApp`. */
  source?: TSource;
  /** How to render it (e.g. `{ type: 'yaml' }` or `{ type: 'helm', chart, values }`); interpreted by `createApp`. */
  render?: TRender;
  /** Namespace for its namespaced objects. */
  namespace?: string;
  /** Create (and on removal, delete) `namespace`. @default true when `namespace` is set */
  createNamespace?: boolean;
  /** Time between the application's passes, in ms. @default the fleet's `appDefaults.intervalMs` */
  intervalMs?: number;
  /** Prune objects that leave its desired state. @default true */
  prune?: boolean;
  /** Start suspended. @default false */
  suspend?: boolean;
  /** Names of applications that must be applied and healthy first. @default [] */
  dependsOn?: string[];
  /** Variables for `${VAR}` substitution in the template and, by `createApp`, in manifests. @default {} */
  vars?: Record<string, string>;
  /** Wait for health after each pass, at most `timeoutMs` ms. */
  wait?: { timeoutMs: number };
  /**
   * Pins the application to the replicas serving this shard label, in a fleet spread over
   * replicas (`FleetOptions.shard`), like Flux's `sharding.fluxcd.io/key`. @default none
   */
  shard?: string;
}

/** Any app spec, whatever its `source` and `render` hold: what a fleet's `parseSpec` may return. */
export type AnyAppSpec = AppSpec<unknown, unknown>;

/** A spec file is invalid; `data.position` names the file. */
export class AppSpecError extends ConvergeError {
  declare readonly code: 'APP_SPEC_INVALID';
  constructor(message: string, position: FilePosition, options: { cause?: unknown } = {}) {
    super('APP_SPEC_INVALID', message, { ...options, data: { position } });
  }
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks a parsed spec file and fills in defaults.
 *
 * @throws {AppSpecError} naming the file and the field at fault.
 */
export function validateAppSpec(raw: unknown, file: string, defaultName: string): AppSpec {
  const at = { file };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new AppSpecError(`${file}: an app spec must be a mapping`, at);
  const spec = { ...(raw as Record<string, unknown>) };
  const name = spec['name'] ?? defaultName;
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 40) {
    throw new AppSpecError(`${file}: name ${JSON.stringify(name)} must be a DNS label of at most 40 characters (a-z, 0-9, '-')`, at);
  }
  const expect = (field: string, type: 'string' | 'number' | 'boolean' | 'object' | 'string[]') => {
    const value = spec[field];
    if (value === undefined) return;
    const ok =
      type === 'string[]'
        ? Array.isArray(value) && value.every((v) => typeof v === 'string')
        : type === 'object'
          ? value !== null && typeof value === 'object' && !Array.isArray(value)
          : typeof value === type;
    if (!ok) throw new AppSpecError(`${file}: ${field} must be ${type === 'string[]' ? 'a list of strings' : `a ${type}`}`, at);
  };
  expect('source', 'object');
  expect('render', 'object');
  expect('namespace', 'string');
  expect('createNamespace', 'boolean');
  // The field's name before it carried its unit: refused by name rather than silently ignored.
  if (spec['interval'] !== undefined) throw new AppSpecError(`${file}: interval is now intervalMs (milliseconds)`, at);
  expect('intervalMs', 'number');
  expect('prune', 'boolean');
  expect('suspend', 'boolean');
  expect('dependsOn', 'string[]');
  expect('vars', 'object');
  expect('wait', 'object');
  expect('shard', 'string');
  const wait = spec['wait'] as Record<string, unknown> | undefined;
  if (wait !== undefined && typeof wait['timeoutMs'] !== 'number') {
    throw new AppSpecError(`${file}: wait needs timeoutMs, how long to wait for health in milliseconds${wait['timeout'] !== undefined ? ' (timeout is now timeoutMs)' : ''}`, at);
  }
  if (spec['shard'] !== undefined && !NAME.test(spec['shard'] as string)) {
    throw new AppSpecError(`${file}: shard ${JSON.stringify(spec['shard'])} must be a DNS label (a-z, 0-9, '-')`, at);
  }
  if (spec['namespace'] !== undefined && !NAME.test(spec['namespace'] as string)) {
    throw new AppSpecError(`${file}: namespace ${JSON.stringify(spec['namespace'])} is not a valid namespace name`, at);
  }
  return { ...spec, name } as AppSpec;
}
