import type { KubeObject } from '../object.js';
import { inheritOrigin } from '../origin.js';
import { named, type Transform } from '../renderer.js';

/**
 * A transform that adds labels to every object's `metadata.labels`. Given labels replace
 * existing labels with the same key.
 *
 * Only the object's own metadata is changed, not pod templates or selectors: changing a
 * Deployment's selector is rejected by the API server and relabelling pods restarts them.
 * Objects are copied, never changed in place.
 *
 * @example
 * ```ts
 * const render = pipe(yamlFiles(), addLabels({ 'app.kubernetes.io/part-of': 'shop' }));
 * ```
 */
export function addLabels(labels: Record<string, string>): Transform {
  return mergeMetadata('labels', labels);
}

/**
 * A transform that adds annotations to every object's `metadata.annotations`. Given
 * annotations replace existing ones with the same key. Like {@link addLabels}, it changes only
 * the object's own metadata (not pod templates) and never changes objects in place.
 *
 * @example
 * ```ts
 * const render = pipe(yamlFiles(), addAnnotations({ 'example.com/commit': sha }));
 * ```
 */
export function addAnnotations(annotations: Record<string, string>): Transform {
  return mergeMetadata('annotations', annotations);
}

function mergeMetadata(field: 'labels' | 'annotations', entries: Record<string, string>): Transform {
  const added = { ...entries };
  for (const [key, value] of Object.entries(added)) {
    if (typeof value !== 'string') throw new TypeError(`${field} value for ${JSON.stringify(key)} must be a string, got ${typeof value}`);
  }
  return named(field === 'labels' ? 'addLabels' : 'addAnnotations', (objects: KubeObject[]) =>
    objects.map((obj): KubeObject => {
      const merged = { ...obj.metadata[field], ...added };
      return inheritOrigin({ ...obj, metadata: { ...obj.metadata, [field]: merged } }, obj);
    }),
  );
}
