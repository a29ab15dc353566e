import { gvkOf, refOf, type KubeObject, type ObjectRef } from '@converge/core';

/** One image and the objects whose pods run it. */
export interface ImageUsage {
  /** The image as written in the manifest. */
  image: string;
  /** The objects that name it, in the order first seen. */
  usedBy: ObjectRef[];
}

// Where each kind keeps its pod spec, by API group (a CRD with the same kind name elsewhere is not a workload).
const POD_SPEC_PATHS: Record<string, { groups: readonly string[]; path: readonly string[] }> = {
  Pod: { groups: [''], path: ['spec'] },
  PodTemplate: { groups: [''], path: ['template', 'spec'] },
  ReplicationController: { groups: [''], path: ['spec', 'template', 'spec'] },
  Deployment: { groups: ['apps', 'extensions'], path: ['spec', 'template', 'spec'] },
  StatefulSet: { groups: ['apps'], path: ['spec', 'template', 'spec'] },
  DaemonSet: { groups: ['apps', 'extensions'], path: ['spec', 'template', 'spec'] },
  ReplicaSet: { groups: ['apps', 'extensions'], path: ['spec', 'template', 'spec'] },
  Job: { groups: ['batch'], path: ['spec', 'template', 'spec'] },
  CronJob: { groups: ['batch'], path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
};
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * Every container image the objects' pods would run, deduplicated, in the order first seen:
 * containers, init containers and ephemeral containers of Pods, Deployments, StatefulSets,
 * DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs (their job template) and
 * PodTemplates. Other kinds are ignored.
 *
 * @example
 * ```ts
 * imagesOf(await yamlFiles()(ctx)); // ['registry.local:5000/api:1.2.3', 'busybox:1.36']
 * ```
 */
export function imagesOf(objects: readonly KubeObject[]): string[] {
  return imageUsages(objects).map((u) => u.image);
}

/** Like {@link imagesOf}, with the objects that name each image (for messages such as "used by Deployment.apps web/api"). */
export function imageUsages(objects: readonly KubeObject[]): ImageUsage[] {
  const byImage = new Map<string, ImageUsage>();
  for (const obj of objects) {
    const podSpec = podSpecOf(obj);
    if (!podSpec) continue;
    for (const list of CONTAINER_LISTS) {
      const containers = podSpec[list];
      if (!Array.isArray(containers)) continue;
      for (const container of containers) {
        const image = isRecord(container) ? container['image'] : undefined;
        if (typeof image !== 'string' || image.trim() === '') continue;
        let usage = byImage.get(image);
        if (!usage) byImage.set(image, (usage = { image, usedBy: [] }));
        const ref = refOf(obj);
        if (!usage.usedBy.some((r) => r.kind === ref.kind && r.group === ref.group && r.namespace === ref.namespace && r.name === ref.name)) {
          usage.usedBy.push(ref);
        }
      }
    }
  }
  return [...byImage.values()];
}

function podSpecOf(obj: KubeObject): Record<string, unknown> | undefined {
  const where = POD_SPEC_PATHS[obj.kind];
  if (!where || typeof obj.apiVersion !== 'string' || !where.groups.includes(gvkOf(obj).group)) return undefined;
  let node: unknown = obj;
  for (const key of where.path) node = isRecord(node) ? node[key] : undefined;
  return isRecord(node) ? node : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
