import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { flagList, startComponent, type Component, type StartContext } from './component.js';

/** Options of {@link startEtcd}. */
export interface EtcdOptions {
  /** The `etcd` binary. */
  binary: string;
  /** Extra or overriding flags (`StartTestEnvOptions.etcdFlags`). */
  flags: Record<string, string | undefined>;
}

async function healthy(url: string, signal: AbortSignal): Promise<boolean> {
  const res = await fetch(`${url}/health`, { signal });
  if (!res.ok) return false;
  const body = (await res.json()) as { health?: string };
  return body.health === 'true';
}

/** Starts a single-member etcd on a free loopback port, data in a fresh dir under the environment's, no fsync. */
export async function startEtcd(ctx: StartContext, options: EtcdOptions): Promise<Component> {
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return startComponent(ctx, 'etcd', {
    url,
    logFile: join(ctx.dir, 'etcd.log'),
    command: async (port) => ({
      command: options.binary,
      cwd: ctx.dir,
      args: flagList(
        {
          // Fresh per attempt: one that lost its port race may have left a half-made member.
          'data-dir': await mkdtemp(join(ctx.dir, 'etcd-')),
          'listen-client-urls': url(port),
          'advertise-client-urls': url(port),
          // A single member never talks to peers; port 0 avoids a second port race (as envtest does).
          'listen-peer-urls': 'http://127.0.0.1:0',
          'unsafe-no-fsync': 'true',
          'log-level': 'warn',
        },
        options.flags,
      ),
    }),
    ready: healthy,
  });
}
