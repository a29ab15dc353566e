import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** Which watch requests {@link openWatches} counts. */
export interface OpenWatchesFilter {
  /** The resource's plural name, e.g. `configmaps`. @default every resource */
  resource?: string;
  /** The API group (`''` for the core group). @default every group */
  group?: string;
}

/**
 * How many watch requests the API server is serving now, from its own
 * `apiserver_longrunning_requests{verb="WATCH"}` metric (the server's internal watches, e.g.
 * its own informers, are not requests and do not count). A witness for tests and benchmarks
 * that a client opens the watches it claims to; needs an identity allowed to `GET /metrics`.
 */
export async function openWatches(kubeConfig: KubeConfig, filter: OpenWatchesFilter = {}): Promise<number> {
  const text = await getMetrics(kubeConfig);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_longrunning_requests{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels['verb'] !== 'WATCH') continue;
    if (filter.resource !== undefined && labels['resource'] !== filter.resource) continue;
    if (filter.group !== undefined && labels['group'] !== filter.group) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function getMetrics(kubeConfig: KubeConfig): Promise<string> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new TypeError('the KubeConfig has no current cluster');
  const url = new URL('/metrics', server);
  const options: Parameters<typeof request>[1] = { method: 'GET', headers: { accept: 'text/plain' } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: HTTP ${res.statusCode}: ${body.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
