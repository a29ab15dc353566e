import type { GroupVersionKind, ObjectRef } from './object.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A CRD's `names.kind` must be a DNS-1035 label once lowercased; built-in kinds are too. */
const KIND = /^[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?$/;
/** Printable ASCII without space, `/` and `%`: what every resource's name validation accepts at least. */
const NAME = /^[\x21-\x24\x26-\x2e\x30-\x7e]+$/;

/**
 * Why `name` cannot be an object's name, or `undefined` if it can.
 *
 * The rule is the loosest one the API server applies to any resource (path-segment names:
 * no `/` or `%`, not `.` or `..`, at most 253 characters), narrowed to printable ASCII without
 * spaces: RBAC names such as `system:controller:job` pass, while a name carrying a newline,
 * a separator or a control character can never reach an inventory or a URL.
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return `is ${name.length} characters long; the limit is 253`;
  if (name === '.' || name === '..') return 'may not be "." or ".."';
  if (!NAME.test(name)) return 'may only contain printable ASCII characters other than space, "/" and "%"';
  return undefined;
}

/** Why `namespace` cannot be a namespace's name (a DNS-1123 label), or `undefined` if it can. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    return 'must be a DNS label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `kind` cannot be a kind, or `undefined` if it can. */
export function kindProblem(kind: string): string | undefined {
  if (kind.length > 63 || !KIND.test(kind)) return 'must be at most 63 letters, digits and "-", starting with a letter (e.g. ConfigMap)';
  return undefined;
}

/** Why `group` cannot be an API group (empty for the core group, else a DNS-1123 subdomain), or `undefined` if it can. */
export function groupProblem(group: string): string | undefined {
  if (group === '') return undefined;
  if (group.length > 253 || !DNS_SUBDOMAIN.test(group)) return 'must be a DNS subdomain such as apps or example.com';
  return undefined;
}

/** Why `version` cannot be an API version (a DNS-1123 label such as `v1beta1`), or `undefined` if it can. */
export function versionProblem(version: string): string | undefined {
  if (version.length > 63 || !DNS_LABEL.test(version)) return 'must be a version such as v1 or v1beta1';
  return undefined;
}

/**
 * Why a ref is not a valid Kubernetes identity, e.g. `metadata.name "a/b" may only contain …`,
 * or `undefined` if it is. Every ref that reaches an inventory, a URL or a prune has passed it.
 */
export function refProblem(ref: ObjectRef): string | undefined {
  const checks: [string, unknown, (value: string) => string | undefined][] = [
    ['API group', ref.group, groupProblem],
    ['kind', ref.kind, kindProblem],
    ['metadata.name', ref.name, nameProblem],
  ];
  if (ref.namespace !== undefined) checks.push(['metadata.namespace', ref.namespace, namespaceProblem]);
  for (const [field, value, check] of checks) {
    if (typeof value !== 'string') return `${field} is not a string`;
    const problem = check(value);
    if (problem) return `${field} ${JSON.stringify(value)} ${problem}`;
  }
  return undefined;
}

/** Whether `ref` is a valid Kubernetes identity (see {@link refProblem}). */
export function isValidRef(ref: ObjectRef): boolean {
  return refProblem(ref) === undefined;
}

/** Why a group/version/kind is not valid, or `undefined` if it is. */
export function gvkProblem(gvk: GroupVersionKind): string | undefined {
  const group = groupProblem(gvk.group);
  if (group) return `apiVersion group ${JSON.stringify(gvk.group)} ${group}`;
  const version = versionProblem(gvk.version);
  if (version) return `apiVersion version ${JSON.stringify(gvk.version)} ${version}`;
  const kind = kindProblem(gvk.kind);
  return kind && `kind ${JSON.stringify(gvk.kind)} ${kind}`;
}
