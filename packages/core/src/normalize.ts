import type { KubeObject } from './object.js';

/** Metadata fields the API server sets; they never take part in a comparison. */
const SERVER_METADATA = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/** Annotations written by clients and controllers, not part of anyone's desired state. */
const CLIENT_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision'];

/**
 * A copy of `obj` without the fields the server owns (`status`, `resourceVersion`, `uid`,
 * `managedFields`, …), with Secret `stringData` folded into base64 `data` as the server stores it.
 * The copy is shallow below `metadata`: treat it as read-only.
 */
export function normalize(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  const out = { ...rest, metadata: { ...obj.metadata } } as KubeObject;
  for (const field of SERVER_METADATA) delete out.metadata[field];
  if (out.metadata.annotations) {
    const annotations = { ...out.metadata.annotations };
    for (const key of CLIENT_ANNOTATIONS) delete annotations[key];
    if (Object.keys(annotations).length === 0) delete out.metadata.annotations;
    else out.metadata.annotations = annotations;
  }
  if (out.metadata.labels && Object.keys(out.metadata.labels).length === 0) delete out.metadata.labels;
  if (out.kind === 'Secret' && out.apiVersion === 'v1') foldStringData(out);
  return out;
}

function foldStringData(secret: KubeObject): void {
  const stringData = secret['stringData'] as Record<string, string> | undefined;
  if (!stringData) return;
  const data = { ...((secret['data'] as Record<string, string> | undefined) ?? {}) };
  for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(value, 'utf8').toString('base64');
  secret['data'] = data;
  delete secret['stringData'];
}
