import type { AddressInfo } from 'node:net';
import { createFleet, directorySource, type Fleet, type Sink, type Source } from '@converge/core';
import { appFactory } from '@converge/example-app-factory';
import { gitSource } from '@converge/git-source';
import type { AgentConfig } from './config.ts';
import { createHttpApi } from './http-api.ts';
import { logEvent, type Log } from './logger.ts';
import { agentMetrics } from './metrics.ts';

/** A running agent. */
export interface Agent {
  fleet: Fleet;
  /** The address the HTTP API listens on. */
  url: string;
  /** Graceful shutdown: stop accepting requests, let passes in flight finish, stop every loop. */
  stop(): Promise<void>;
}

/** Starts the pull agent: a fleet over the configured spec folder, plus its HTTP API. */
export async function startAgent(config: AgentConfig, deps: { sink: Sink; log: Log }): Promise<Agent> {
  const specs: Source = config.apps.dir
    ? directorySource(config.apps.dir)
    : gitSource({ url: config.apps.url!, ...(config.apps.ref && { ref: config.apps.ref }) });
  const fleet = createFleet({
    name: config.name,
    source: specs,
    ...(config.apps.path && !config.apps.dir && { path: config.apps.path }),
    sink: deps.sink,
    interval: config.interval,
    appDefaults: { interval: config.interval, prune: true },
    createApp: appFactory({
      ...(config.apps.url && { defaultRepo: { url: config.apps.url, ...(config.apps.ref && { ref: config.apps.ref }) } }),
      onGitProgress: (app, e) => {
        if (e.type === 'fetched') deps.log('info', 'fetched', { app, ...e });
      },
    }),
  });
  const metrics = agentMetrics(fleet);
  fleet.on('*', (e) => {
    metrics.observe(e);
    logEvent(deps.log, e);
  });
  const server = createHttpApi({ fleet, registry: metrics.registry, ...(config.webhookSecret && { webhookSecret: config.webhookSecret }) });
  await new Promise<void>((resolve) => server.listen(config.listen.port, config.listen.host, resolve));
  const { address, port } = server.address() as AddressInfo;
  fleet.start();
  deps.log('info', 'agent started', { name: config.name, listen: `${address}:${port}` });
  return {
    fleet,
    url: `http://${address}:${port}`,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fleet.stop();
      deps.log('info', 'agent stopped', { name: config.name });
    },
  };
}
