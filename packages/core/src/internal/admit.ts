import { InvalidObjectError, TooManyObjectsError } from '../errors.js';
import type { FilePosition } from '../errors.js';
import { gvkProblem, nameProblem, namespaceProblem } from '../identity.js';
import { isSecret } from '../mask.js';
import { formatRef, gvkOf, parseApiVersion, refOf, type GroupVersionKind, type KubeObject, type ObjectRef } from '../object.js';
import { defaultNamespaceOf, formatPosition, inheritOrigin, originOf } from '../origin.js';
import type { Sink } from '../sink.js';
import { CLUSTER_SCOPED_KINDS } from '../transforms/cluster-scoped-kinds.js';
import { hookName, hookOf } from '../phases.js';
import { assertUnique } from './assert-unique.js';

/** Metadata the server owns; a manifest copied from `kubectl get -o yaml` may carry it. */
const SERVER_METADATA = ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** What admission needs from the reconciler. */
export interface AdmitOptions {
  /** The renderer's name for messages. */
  renderer: string;
  maxObjects: number;
  reconciler: string;
  sink: Pick<Sink, 'scopeOf' | 'defaultNamespace' | 'isReserved'>;
  defaultNamespace: string | undefined;
  signal: AbortSignal;
  /** The revision being rendered: names hooks that use `generateName`. */
  revision: string;
}

/**
 * Where rendered objects enter: every object is checked against Kubernetes' rules for
 * apiVersion, kind, name and namespace (so no field value can forge an inventory entry or a
 * URL), Secret values are checked to be strings, server-owned metadata is dropped, and the
 * namespace is settled with the sink's discovery: a namespaced object that names none gets
 * its renderer's default namespace (or the reconciler's, or the sink's), and a cluster-scoped
 * object that names one is an error at its file and line. The identity planned from here on
 * is the identity the server stores.
 */
export async function admit(rendered: unknown, o: AdmitOptions): Promise<KubeObject[]> {
  if (!Array.isArray(rendered)) {
    throw new InvalidObjectError(`${o.reconciler}: renderer ${o.renderer} returned ${typeof rendered}, not an array of objects`);
  }
  if (rendered.length > o.maxObjects) throw new TooManyObjectsError(o.reconciler, rendered.length, o.maxObjects);
  const checked = rendered.map((obj: unknown, index) => {
    const object = check(nameHook(snapshot(obj, index, o.renderer), o.revision), index, o.renderer);
    const ref = refOf(object);
    if (o.sink.isReserved?.(ref)) fail(`${formatRef(ref)} is where the sink keeps its own records (an inventory); it cannot be a desired object`, object, o.renderer, index, { ref });
    return object;
  });
  const scopes = new Scopes(checked, o);
  const out: KubeObject[] = [];
  for (const obj of checked) out.push(await settleNamespace(obj, await scopes.of(gvkOf(obj)), o));
  assertUnique(out, ' once namespaces are settled');
  return out;
}

function fail(message: string, obj: unknown, renderer: string, index: number, extra: { ref?: ReturnType<typeof refOf> } = {}): never {
  const position = obj !== null && typeof obj === 'object' ? originOf(obj) : undefined;
  const where = position ? `${formatPosition(position)}: ` : `object #${index + 1} from renderer ${renderer}: `;
  throw new InvalidObjectError(`${where}${message}`, position, { data: { renderer, ...extra } });
}

/**
 * A plain-data copy of what a renderer returned, so that what is validated is what is used:
 * getters are read once, inherited fields are left behind, functions are refused.
 */
function snapshot(obj: unknown, index: number, renderer: string): unknown {
  if (obj === null || typeof obj !== 'object') return obj;
  let copy: unknown;
  try {
    copy = structuredClone(obj);
  } catch {
    fail('it is not plain data (it holds functions, symbols or class instances that cannot be copied)', obj, renderer, index);
  }
  return inheritOrigin(copy as object, obj);
}

/** A hook with `generateName` and no name gets its name for this revision (see `hookName`). */
function nameHook(obj: unknown, revision: string): unknown {
  if (obj === null || typeof obj !== 'object') return obj;
  const metadata = (obj as { metadata?: unknown }).metadata as Record<string, unknown> | undefined;
  if (!metadata || typeof metadata !== 'object' || metadata['name'] !== undefined || typeof metadata['generateName'] !== 'string') return obj;
  const hook = hookOf(obj as KubeObject);
  if (!hook || 'unsupported' in hook) return obj;
  metadata['name'] = hookName(metadata['generateName'], revision);
  delete metadata['generateName'];
  return obj;
}

function check(obj: unknown, index: number, renderer: string): KubeObject {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail(`not an object (${Array.isArray(obj) ? 'an array' : typeof obj})`, obj, renderer, index);
  const { apiVersion, kind, metadata } = obj as Record<string, unknown>;
  if (typeof apiVersion !== 'string' || apiVersion === '') fail('it has no apiVersion; every object needs apiVersion, kind and metadata.name', obj, renderer, index);
  if (typeof kind !== 'string' || kind === '') fail('it has no kind; every object needs apiVersion, kind and metadata.name', obj, renderer, index);
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) fail(`this ${kind} has no metadata; add metadata.name`, obj, renderer, index);
  const { name, namespace } = metadata as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') {
    const hint = (metadata as Record<string, unknown>)['generateName'] !== undefined ? ' (metadata.generateName can only be used by hooks: each pass would create a new object)' : '';
    fail(`this ${kind} has no metadata.name${hint}`, obj, renderer, index);
  }
  const gvk = gvkOf(obj as KubeObject);
  const problem = gvkProblem(gvk) ?? (nameProblem(name) && `metadata.name ${JSON.stringify(name)} ${nameProblem(name)}`);
  if (problem) fail(`${problem}; it cannot be applied`, obj, renderer, index);
  if (namespace !== undefined && namespace !== null) {
    const nsProblem = typeof namespace === 'string' ? namespaceProblem(namespace) : 'must be a string';
    if (nsProblem) fail(`${kind} ${name}: metadata.namespace ${JSON.stringify(namespace)} ${nsProblem}`, obj, renderer, index);
  }
  const typed = obj as KubeObject;
  if (isSecret(typed)) checkSecretValues(typed, index, renderer);
  return withoutServerMetadata(typed);
}

/** Secret values must be strings; anything else would reach the server, and its error message, with the value in it. */
function checkSecretValues(secret: KubeObject, index: number, renderer: string): void {
  for (const field of ['data', 'stringData'] as const) {
    const map = secret[field];
    if (map === undefined || map === null) continue;
    const ref = refOf(secret);
    if (typeof map !== 'object' || Array.isArray(map)) fail(`${formatRef(ref)}: ${field} must be a mapping of strings (its value is not shown)`, secret, renderer, index, { ref });
    for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
      if (typeof value !== 'string') {
        const type = value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
        fail(`${formatRef(ref)}: ${field}.${key} is ${type}; Secret values must be strings: quote it (the value is not shown)`, secret, renderer, index, { ref });
      }
    }
  }
}

function withoutServerMetadata(obj: KubeObject): KubeObject {
  const strip = SERVER_METADATA.filter((f) => f in obj.metadata);
  const nullNamespace = obj.metadata.namespace === null;
  if (strip.length === 0 && !nullNamespace) return obj;
  const metadata = { ...obj.metadata };
  for (const f of strip) delete metadata[f];
  if (nullNamespace) delete metadata.namespace;
  return inheritOrigin({ ...obj, metadata }, obj);
}

type Scope = 'Namespaced' | 'Cluster' | undefined;

/** Whether kinds are namespaced: CRDs in the same render first, then the sink's discovery, then the built-in table. */
export class Scopes {
  readonly #known = new Map<string, Promise<Scope>>();
  constructor(
    objects: readonly KubeObject[],
    private readonly o: Pick<AdmitOptions, 'sink' | 'signal'>,
  ) {
    for (const obj of objects) {
      if (obj.kind !== 'CustomResourceDefinition' || parseApiVersion(obj.apiVersion).group !== 'apiextensions.k8s.io') continue;
      const spec = obj['spec'] as { group?: unknown; scope?: unknown; names?: { kind?: unknown } } | undefined;
      if (typeof spec?.group === 'string' && typeof spec.names?.kind === 'string' && (spec.scope === 'Cluster' || spec.scope === 'Namespaced')) {
        this.#known.set(`${spec.group}/${spec.names.kind}`, Promise.resolve(spec.scope));
      }
    }
  }

  of(gvk: Pick<GroupVersionKind, 'group' | 'kind'> & { version?: string }): Promise<Scope> {
    const key = `${gvk.group}/${gvk.kind}`;
    let scope = this.#known.get(key);
    if (!scope) this.#known.set(key, (scope = this.#lookup(gvk, key)));
    return scope;
  }

  async #lookup(gvk: Pick<GroupVersionKind, 'group' | 'kind'> & { version?: string }, key: string): Promise<Scope> {
    if (this.o.sink.scopeOf) return this.o.sink.scopeOf({ version: '', ...gvk }, { signal: this.o.signal });
    return CLUSTER_SCOPED_KINDS.has(key) ? 'Cluster' : 'Namespaced';
  }
}

async function settleNamespace(obj: KubeObject, scope: Scope, o: AdmitOptions): Promise<KubeObject> {
  const namespace = obj.metadata.namespace;
  if (scope === 'Cluster' && namespace !== undefined) {
    const position: FilePosition | undefined = originOf(obj);
    throw new InvalidObjectError(
      `${position ? `${formatPosition(position)}: ` : ''}${obj.kind} ${obj.metadata.name} is cluster-scoped but names namespace "${namespace}"; ` +
        'remove metadata.namespace (if a transform such as setNamespace added it, list the kind in its clusterScoped option)',
      position,
      { data: { ref: refOf(obj), renderer: o.renderer } },
    );
  }
  if (scope === undefined && namespace === undefined) {
    const position = originOf(obj);
    throw new InvalidObjectError(
      `${position ? `${formatPosition(position)}: ` : ''}${obj.kind} ${obj.metadata.name} names no namespace, and the API server does not serve ${obj.apiVersion} ${obj.kind} (yet), ` +
        'so whether it is namespaced is unknown; install its CustomResourceDefinition first (or in the same render), or set metadata.namespace',
      position,
      { data: { ref: refOf(obj), renderer: o.renderer } },
    );
  }
  if (scope !== 'Namespaced' || namespace !== undefined) return obj;
  const settled = defaultNamespaceOf(obj) ?? o.defaultNamespace ?? o.sink.defaultNamespace ?? 'default';
  return inheritOrigin({ ...obj, metadata: { ...obj.metadata, namespace: settled } }, obj);
}

/**
 * Inventory refs as the server stores them: a cluster-scoped kind loses a namespace an earlier
 * version recorded, a namespaced one without a namespace gets the sink's default (where the
 * sink applied it). Kinds whose scope is unknown are left as they are.
 */
export async function settleInventory(refs: readonly ObjectRef[], scopes: Scopes, sink: Pick<Sink, 'defaultNamespace'>): Promise<ObjectRef[]> {
  const out: ObjectRef[] = [];
  for (const ref of refs) {
    const scope = await scopes.of(ref);
    if (scope === 'Cluster' && ref.namespace !== undefined) {
      const { namespace: _dropped, ...clusterRef } = ref;
      out.push(clusterRef);
    } else if (scope === 'Namespaced' && ref.namespace === undefined) out.push({ ...ref, namespace: sink.defaultNamespace ?? 'default' });
    else out.push(ref);
  }
  return out;
}
