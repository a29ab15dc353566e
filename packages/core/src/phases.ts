import { createHash } from 'node:crypto';
import { InvalidObjectError } from './errors.js';
import type { KubeObject } from './object.js';
import { formatPosition, originOf } from './origin.js';

/** Annotation placing an object in a wave: waves are applied in ascending order, each waited for before the next. */
export const WAVE_ANNOTATION = 'converge.dev/wave';
/** Annotation making an object a hook of a phase: `PreSync`, `Sync` (run in its wave), `PostSync` or `SyncFail`. */
export const HOOK_ANNOTATION = 'converge.dev/hook';
/** Annotation listing when a hook is deleted: `BeforeHookCreation` (default), `HookSucceeded`, `HookFailed`. */
export const HOOK_DELETE_POLICY_ANNOTATION = 'converge.dev/hook-delete-policy';

const ARGO_HOOK = 'argocd.argoproj.io/hook';
const ARGO_DELETE_POLICY = 'argocd.argoproj.io/hook-delete-policy';
const ARGO_WAVE = 'argocd.argoproj.io/sync-wave';
const HELM_HOOK = 'helm.sh/hook';
const HELM_DELETE_POLICY = 'helm.sh/hook-delete-policy';
const HELM_WEIGHT = 'helm.sh/hook-weight';

/** When a hook runs: before the waves, in its wave (`Sync`), after them, or when the pass fails. */
export type HookPhase = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail';

/** When a hook object is deleted. */
export type HookDeletePolicy = 'BeforeHookCreation' | 'HookSucceeded' | 'HookFailed';

/** What makes an object a hook. */
export interface HookSpec {
  phase: HookPhase;
  /** Hooks of one phase run in ascending weight (for `Sync` hooks: their wave); equal weights together. */
  weight: number;
  deletePolicies: HookDeletePolicy[];
}

/** An object annotated as a hook of a kind Converge does not run (Helm's `pre-delete`, Argo CD's `PostDelete`…). */
export interface UnsupportedHook {
  unsupported: string;
}

const ARGO_PHASES: Record<string, HookPhase | undefined> = { PreSync: 'PreSync', Sync: 'Sync', PostSync: 'PostSync', SyncFail: 'SyncFail' };
const HELM_PHASES: Record<string, HookPhase | 'test' | undefined> = {
  'pre-install': 'PreSync',
  'pre-upgrade': 'PreSync',
  'post-install': 'PostSync',
  'post-upgrade': 'PostSync',
  test: 'test',
  'test-success': 'test',
  'test-failure': 'test',
};
const POLICIES: Record<string, HookDeletePolicy | undefined> = {
  BeforeHookCreation: 'BeforeHookCreation',
  HookSucceeded: 'HookSucceeded',
  HookFailed: 'HookFailed',
  'before-hook-creation': 'BeforeHookCreation',
  'hook-succeeded': 'HookSucceeded',
  'hook-failed': 'HookFailed',
};

function where(obj: KubeObject): string {
  const position = originOf(obj);
  return position ? `${formatPosition(position)}: ` : '';
}

function integerAnnotation(obj: KubeObject, keys: readonly string[]): number {
  for (const key of keys) {
    const value = obj.metadata.annotations?.[key];
    if (value === undefined) continue;
    if (!/^\s*[-+]?\d+\s*$/.test(value)) {
      throw new InvalidObjectError(`${where(obj)}${obj.kind} ${obj.metadata.name ?? obj.metadata['generateName']}: annotation ${key} must be an integer, not ${JSON.stringify(value)}`, originOf(obj));
    }
    return Number.parseInt(value, 10);
  }
  return 0;
}

/**
 * The wave of an object: `converge.dev/wave`, else Argo CD's `argocd.argoproj.io/sync-wave`,
 * else `helm.sh/hook-weight`, else 0. Waves are applied in ascending order (negative ones
 * first), each waited for before the next starts.
 *
 * @throws {@link InvalidObjectError} when the annotation is not an integer.
 */
export function waveOf(obj: KubeObject): number {
  return integerAnnotation(obj, [WAVE_ANNOTATION, ARGO_WAVE, HELM_WEIGHT]);
}

/**
 * Whether an object is a hook, and of which phase: `converge.dev/hook`, else
 * `argocd.argoproj.io/hook`, else `helm.sh/hook` (`pre-install`/`pre-upgrade` → `PreSync`,
 * `post-install`/`post-upgrade` → `PostSync`). Helm test hooks are not hooks here (`helm-render`
 * leaves them out); hooks Converge does not run (Helm's delete and rollback hooks, Argo CD's
 * `Skip` and `PostDelete`) come back as {@link UnsupportedHook}. The delete policy
 * defaults to `BeforeHookCreation`, as in Argo CD and Helm.
 *
 * @example
 * ```ts
 * hookOf({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', annotations: { 'helm.sh/hook': 'pre-upgrade' } } });
 * // { phase: 'PreSync', weight: 0, deletePolicies: ['BeforeHookCreation'] }
 * ```
 */
export function hookOf(obj: KubeObject): HookSpec | UnsupportedHook | undefined {
  const annotations = obj.metadata.annotations ?? {};
  let phase: HookPhase | undefined;
  const own = annotations[HOOK_ANNOTATION] ?? annotations[ARGO_HOOK];
  const helm = annotations[HELM_HOOK];
  if (own !== undefined) {
    const phases = own.split(',').map((p) => p.trim());
    const known = phases.map((p) => ARGO_PHASES[p]);
    if (known.some((p) => p === undefined) || new Set(known).size > 1) return { unsupported: `hook ${JSON.stringify(own)}` };
    phase = known[0];
  } else if (helm !== undefined) {
    const phases = [...new Set(helm.split(',').map((p) => HELM_PHASES[p.trim()]))];
    if (phases.includes('test')) return undefined;
    if (phases.some((p) => p === undefined) || phases.length > 1) return { unsupported: `helm.sh/hook ${JSON.stringify(helm)}` };
    phase = phases[0] as HookPhase;
  } else return undefined;
  const policyText = annotations[HOOK_DELETE_POLICY_ANNOTATION] ?? annotations[ARGO_DELETE_POLICY] ?? annotations[HELM_DELETE_POLICY];
  const deletePolicies = policyText === undefined ? [] : policyText.split(',').map((p) => POLICIES[p.trim()]).filter((p): p is HookDeletePolicy => p !== undefined);
  return { phase: phase as HookPhase, weight: waveOf(obj), deletePolicies: deletePolicies.length > 0 ? deletePolicies : ['BeforeHookCreation'] };
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The name a hook with `metadata.generateName` gets for one revision: the prefix and five
 * characters derived from the revision (in the alphabet Kubernetes uses for generated names),
 * so a hook runs under one name per revision and re-rendering the same revision gives it again.
 */
export function hookName(generateName: string, revision: string): string {
  const digest = createHash('sha256').update(`${revision}\n${generateName}`).digest();
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[(digest[i] as number) % GENERATE_ALPHABET.length];
  return `${generateName}${suffix}`;
}

/** Groups items by a number in ascending order: the waves of a plan, the weights of hooks. */
export function groupByNumber<T>(items: readonly T[], numberOf: (item: T) => number): { key: number; items: T[] }[] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const key = numberOf(item);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(item);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([key, group]) => ({ key, items: group }));
}
