import type { AddressInfo } from 'node:net';
import { appFactory, type GitAppSpec } from '@converge/app-factory';
import { directorySource, type Sink, type Source } from '@converge/core';
import { createFleet, type Fleet } from '@converge/fleet';
import { notifyOn, webhookNotifier } from '@converge/notify';
import { forgeOf, reportCommitStatus } from '@converge/forge';
import { gitSource } from '@converge/git-source';
import type { AgentConfig } from './config.ts';
import { createHttpApi } from './http-api.ts';
import { logEvent, type Log } from './logger.ts';
import { agentMetrics } from './metrics.ts';
import type { Replicas } from './replicas.ts';

/** A running agent. */
export interface Agent {
  fleet: Fleet<GitAppSpec>;
  /** The address the HTTP API listens on. */
  url: string;
  /** Whether the first sync is done: the spec folder was read and every app finished a pass (a standby replica is ready at once). */
  readiness(): { ready: boolean; revision?: string; waitingFor: string[] };
  /** Graceful shutdown: stop accepting requests, let passes in flight finish, deliver pending notifications. */
  stop(): Promise<void>;
}

/** Side effects the agent is given. */
export interface AgentDeps {
  sink: Sink;
  log: Log;
  /** The HTTP client notifications are sent with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** When several replicas run: who may write, or which apps are this replica's. @default one replica */
  replicas?: Replicas;
}

/** Starts the pull agent: a fleet over the configured spec folder, plus its HTTP API. */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<Agent> {
  const specs: Source = config.apps.dir
    ? directorySource(config.apps.dir)
    : gitSource({ url: config.apps.url!, ...(config.apps.ref && { ref: config.apps.ref }) });
  const fleet = createFleet({
    name: config.name,
    source: specs,
    ...(config.apps.path && !config.apps.dir && { path: config.apps.path }),
    sink: deps.sink,
    intervalMs: config.intervalMs,
    appDefaults: { intervalMs: config.intervalMs, prune: true, forceConflicts: config.force },
    ...deps.replicas?.fleetOptions,
    ...appFactory({
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

  // Every application's failed / recovered / drift-corrected passes, and the fleet's own (a
  // broken spec file fails the fleet's pass).
  const notifications = config.notify
    ? notifyOn(fleet, webhookNotifier({ url: config.notify.url, ...(config.notify.secret && { secret: config.notify.secret }), ...(deps.fetch && { fetch: deps.fetch }) }), {
        onError: (error, n) => deps.log('warn', 'notification not delivered', { reconciler: n.reconciler, notification: n.type, code: error.code, error: error.message }),
      })
    : undefined;

  // Each application's deployments as commit statuses (`converge/<fleet>-<app>`) on the
  // repository of its commits; a forge that fails is logged and never slows the fleet.
  const statuses = config.forge
    ? reportCommitStatus(fleet, {
        forge: forgeOf(config.forge),
        onWrite: (w) => deps.log('info', 'commit status set', { context: w.context, commit: w.sha, state: w.state }),
        onError: (error, w) => deps.log('warn', 'commit status not set', { context: w.context, commit: w.sha, state: w.state, code: error.code, error: error.message }),
      })
    : undefined;

  const agent: Omit<Agent, 'url'> = {
    fleet,
    readiness() {
      if (deps.replicas?.standby()) return { ready: true, waitingFor: [] };
      const status = fleet.status();
      const waitingFor = status.lastAppliedRevision
        ? Object.entries(status.apps)
            .filter(([, s]) => !s.suspended && s.history.length === 0)
            .map(([name]) => name)
        : [];
      return { ready: Boolean(status.lastAppliedRevision) && waitingFor.length === 0, ...(status.lastAppliedRevision && { revision: status.lastAppliedRevision }), waitingFor };
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await fleet.stop();
      await deps.replicas?.stop();
      await notifications?.flush();
      notifications?.();
      await statuses?.flush();
      statuses?.();
      deps.log('info', 'agent stopped', { name: config.name });
    },
  };

  const server = createHttpApi({
    fleet,
    registry: metrics.registry,
    ...(config.controlToken && { controlToken: config.controlToken }),
    readiness: () => agent.readiness(),
    ...(config.webhookSecret && { webhookSecret: config.webhookSecret }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  if (!config.webhookSecret) deps.log('warn', 'POST /webhook accepts unsigned requests: set webhook.secretEnv', {});
  if (deps.replicas) deps.replicas.run(fleet);
  else fleet.start();
  deps.log('info', 'agent started', { name: config.name, listen: url, notify: config.notify ? new URL(config.notify.url).origin : null, forge: config.forge ? `${config.forge.kind}:${config.forge.repository}` : null });
  return { ...agent, url };
}
