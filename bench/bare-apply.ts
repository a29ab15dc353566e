// The limit for the benchmarks: server-side applies as kube-sink sends them for new objects,
// sent by a bare HTTP loop — no discovery, reads, planning, inventory or events.
import { RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { OWNER_ANNOTATION, type KubeObject } from '@converge/core';

/** The PATCH of one object, as kube-sink sends it on a first apply (new object, claimed without force). */
export interface BareRequest {
  path: string;
  body: string;
}

/** `objects` as the requests kube-sink would send for reconciler `owner`: Namespaces first (one wave), then the rest. */
export function bareRequests(objects: readonly KubeObject[], owner: string): BareRequest[][] {
  const query = `?fieldManager=${encodeURIComponent(`converge:${owner}`)}&force=false&fieldValidation=Strict`;
  const request = (obj: KubeObject): BareRequest => {
    const { name, namespace } = obj.metadata;
    const path =
      obj.kind === 'Namespace'
        ? `/api/v1/namespaces/${name}`
        : obj.kind === 'ConfigMap'
          ? `/api/v1/namespaces/${namespace}/configmaps/${name}`
          : `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
    const body = { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [OWNER_ANNOTATION]: owner } } };
    return { path: path + query, body: JSON.stringify(body) };
  };
  return [objects.filter((o) => o.kind === 'Namespace').map(request), objects.filter((o) => o.kind !== 'Namespace').map(request)];
}

/**
 * The limit: `waves` of PATCHes (application/apply-patch+yaml) sent by `concurrency` workers on
 * client-node's undici dispatcher for the KubeConfig (the pool kube-sink's transport reuses), one
 * wave after the other. Nothing else: no discovery, no reads, no inventory, no events.
 */
export async function bareApply(kubeConfig: KubeConfig, waves: BareRequest[][], concurrency: number): Promise<{ ms: number; cpuMs: number }> {
  const server = kubeConfig.getCurrentCluster()!.server;
  const ctx = new RequestContext(server, 'PATCH');
  await kubeConfig.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher()!;
  const { origin } = new URL(server);
  const headers = { ...ctx.getHeaders(), accept: 'application/json', 'content-type': 'application/apply-patch+yaml' };
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const wave of waves) {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < wave.length) {
          const { path, body } = wave[next++]!;
          const res = await dispatcher.request({ origin, path, method: 'PATCH', headers, body });
          const text = await res.body.text();
          if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`bare PATCH ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
          JSON.parse(text); // as a client must, to see what was stored
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, wave.length) }, worker));
    }
    return { ms: performance.now() - started, cpuMs: cpuMs(process.cpuUsage(cpu)) };
  } finally {
    await dispatcher.close();
  }
}

/** User and system CPU time of this process, in milliseconds. */
export const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;
