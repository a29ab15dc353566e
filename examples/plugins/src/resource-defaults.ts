import { ConvergeError, type ConvergeErrorOptions, formatPosition, formatRef, inheritOrigin, named, originOf, refOf, type KubeObject, type Transform } from '@converge/core';

/** CPU and memory quantities, as Kubernetes writes them (`250m`, `512Mi`). */
export interface Resources {
  cpu?: string;
  memory?: string;
}

/** Options of {@link resourceDefaults}. */
export interface ResourceDefaultsOptions {
  /** Requests given to containers that set none for a resource. @default {} */
  requests?: Resources;
  /** Limits given to containers that set none for a resource. @default {} */
  limits?: Resources;
  /** The largest limit a container may set; more fails the render with `RESOURCE_LIMIT_EXCEEDED`. @default {} (no maximum) */
  max?: Resources;
}

/** A container asks for more than the platform allows, or writes a quantity Kubernetes would refuse. */
export class ResourcePolicyError extends ConvergeError {
  declare readonly code: 'RESOURCE_LIMIT_EXCEEDED' | 'INVALID_QUANTITY';
  constructor(code: ResourcePolicyError['code'], message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }
}

// Where each workload kind keeps its pod spec.
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
const SUFFIXES: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const KINDS = ['cpu', 'memory'] as const;

/**
 * A {@link Transform} that enforces the platform's resource policy on every container (and init
 * container) of Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs:
 * missing requests and limits get the defaults, and a limit above `max` fails the render with a
 * {@link ResourcePolicyError} naming the file and line, the object and the container.
 *
 * Objects are copied, never changed in place, and keep their origin ({@link inheritOrigin}),
 * so errors from later steps still name the file and line.
 *
 * @example
 * ```ts
 * const render = pipe(yamlFiles(), resourceDefaults({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' }, max: { memory: '4Gi' } }));
 * ```
 */
export function resourceDefaults(options: ResourceDefaultsOptions): Transform {
  const max: Partial<Record<(typeof KINDS)[number], number>> = {};
  for (const kind of KINDS) if (options.max?.[kind] !== undefined) max[kind] = quantity(options.max[kind], `max.${kind}`);
  return named('resourceDefaults', (objects: KubeObject[]) =>
    objects.map((obj) => {
      const path = POD_SPEC_PATHS[obj.kind];
      if (!path) return obj; // nothing to change: the same object, origin and all
      // Never change the input: the runtime reuses a revision's render on later passes.
      const copy = inheritOrigin(structuredClone(obj), obj);
      let podSpec: unknown = copy;
      for (const key of path) podSpec = isRecord(podSpec) ? podSpec[key] : undefined;
      if (!isRecord(podSpec)) return obj;
      for (const list of ['initContainers', 'containers'] as const) {
        const containers = podSpec[list];
        if (Array.isArray(containers)) for (const container of containers.filter(isRecord)) enforce(container, obj, options, max);
      }
      return copy;
    }),
  );
}

/** Gives `container` (of `obj`, for messages) the default resources, and checks its limits against `max`. */
function enforce(container: Record<string, unknown>, obj: KubeObject, options: ResourceDefaultsOptions, max: Partial<Record<(typeof KINDS)[number], number>>): void {
  const resources = isRecord(container['resources']) ? container['resources'] : (container['resources'] = {});
  for (const field of ['requests', 'limits'] as const) {
    const merged = { ...options[field], ...(isRecord(resources[field]) ? resources[field] : {}) };
    if (Object.keys(merged).length > 0) resources[field] = merged;
  }
  const limits = isRecord(resources['limits']) ? resources['limits'] : {};
  const position = originOf(obj); // the file and line, if a renderer recorded them
  for (const kind of KINDS) {
    const limit = limits[kind];
    const cap = max[kind];
    if (limit === undefined || cap === undefined) continue;
    const where = `${position ? `${formatPosition(position)}: ` : ''}container "${String(container['name'])}" of ${formatRef(refOf(obj))}`;
    if (quantity(limit, `${where} limits.${kind}`) <= cap) continue;
    throw new ResourcePolicyError(
      'RESOURCE_LIMIT_EXCEEDED',
      `${where} sets a ${kind} limit of ${String(limit)}, above the platform's maximum of ${String(options.max?.[kind])}; lower it or ask the platform team`,
      // data.position lets tools jump to the line; the runtime adds data.stage and data.plugin.
      { data: { ref: refOf(obj), container: container['name'], resource: kind, ...(position && { position }) } },
    );
  }
}

/** The value of a Kubernetes quantity (`500m` → 0.5, `1Gi` → 1073741824). */
export function quantity(text: unknown, what: string): number {
  const match = typeof text === 'string' || typeof text === 'number' ? /^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$/.exec(String(text)) : null;
  const factor = match ? SUFFIXES[match[2] ?? ''] : undefined;
  if (!match || factor === undefined) {
    throw new ResourcePolicyError('INVALID_QUANTITY', `${what}: ${JSON.stringify(text)} is not a quantity Kubernetes accepts (e.g. 250m, 1.5, 512Mi, 2Gi)`);
  }
  return Number(match[1]) * factor;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
