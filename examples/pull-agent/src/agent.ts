import type { AddressInfo } from 'node:net';
import {
  createFleet,
  directorySource,
  notifyOn,
  webhookNotifier,
  type Fleet,
  type Notifier,
  type NotifySubscription,
  type Reconciler,
  type ReconcilerStatus,
  type Sink,
  type Source,
} from '@converge/core';
import { appFactory } from '@converge/example-app-factory';
import { gitSource } from '@converge/git-source';
import type { AgentConfig } from './config.ts';
import { createHttpApi } from './http-api.ts';
import { logEvent, type Log } from './logger.ts';
import { agentMetrics } from './metrics.ts';
import type { Replicas } from './replicas.ts';

/** A running agent. */
export interface Agent {
  fleet: Fleet;
  /** The address the HTTP API listens on. */
  url: string;
  /** Suspends one application until {@link Agent.resumeApp}, across spec changes and agent-wide resumes. */
  suspendApp(name: string): boolean;
  /** Resumes one application and runs a pass at once. */
  resumeApp(name: string): boolean;
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
    interval: config.interval,
    appDefaults: { interval: config.interval, prune: true, forceConflicts: config.force },
    ...deps.replicas?.fleetOptions,
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

  // Applications suspended through the API stay suspended when their spec changes (the fleet
  // then builds a new reconciler) and when the whole agent is resumed.
  const suspendedApps = new Set<string>();
  fleet.on('app.added', (e) => {
    if ('app' in e && suspendedApps.has(e.app)) fleet.app(e.app)?.suspend();
  });
  fleet.on('app.updated', (e) => {
    if ('app' in e && suspendedApps.has(e.app)) fleet.app(e.app)?.suspend();
  });
  fleet.on('app.removed', (e) => {
    if ('app' in e) suspendedApps.delete(e.app);
  });

  const notifications = config.notify ? subscribeNotifications(fleet, webhookNotifier({ url: config.notify.url, ...(config.notify.secret && { secret: config.notify.secret }), ...(deps.fetch && { fetch: deps.fetch }) }), deps.log) : undefined;

  const agent: Omit<Agent, 'url'> = {
    fleet,
    suspendApp(name) {
      const app = fleet.app(name);
      if (!app) return false;
      suspendedApps.add(name);
      app.suspend();
      return true;
    },
    resumeApp(name) {
      const app = fleet.app(name);
      if (!app) return false;
      suspendedApps.delete(name);
      app.resume();
      return true;
    },
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
      deps.log('info', 'agent stopped', { name: config.name });
    },
  };

  const server = createHttpApi({
    fleet,
    registry: metrics.registry,
    ...(config.controlToken && { controlToken: config.controlToken }),
    readiness: () => agent.readiness(),
    suspendApp: (name) => agent.suspendApp(name),
    resumeApp: (name) => agent.resumeApp(name),
    resumeAll: () => {
      fleet.resume();
      for (const name of suspendedApps) fleet.app(name)?.suspend();
    },
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
  deps.log('info', 'agent started', { name: config.name, listen: url, notify: config.notify ? new URL(config.notify.url).origin : null });
  return { ...agent, url };
}

/**
 * Sends every application's failed / recovered / drift-corrected notifications, and the
 * fleet's own (a broken spec file fails the fleet's pass). One subscription per application
 * reconciler, renewed when a spec change replaces it.
 */
function subscribeNotifications(fleet: Fleet, notifier: Notifier, log: Log): NotifySubscription {
  const onError = (error: { code: string; message: string }, n: { type: string; reconciler: string }) =>
    log('warn', 'notification not delivered', { reconciler: n.reconciler, notification: n.type, code: error.code, error: error.message });
  const perApp = new Map<string, NotifySubscription>();
  const subscribe = (app: string) => {
    perApp.get(app)?.();
    const reconciler = fleet.app(app);
    if (reconciler) perApp.set(app, notifyOn(reconciler, notifier, { onError }));
  };
  const offs = [
    fleet.on('app.added', (e) => 'app' in e && subscribe(e.app)),
    fleet.on('app.updated', (e) => 'app' in e && subscribe(e.app)),
    fleet.on('app.removed', (e) => {
      if (!('app' in e)) return;
      perApp.get(e.app)?.();
      perApp.delete(e.app);
    }),
  ];
  // The fleet's own passes, seen as a reconciler: only its events, and it starts with no failures.
  const fleetOnly: Pick<Reconciler, 'on' | 'status'> = {
    on: ((type: string, fn: (e: unknown) => void) =>
      fleet.on(type as '*', (e) => {
        if (e.reconciler === fleet.name && !('app' in e)) fn(e);
      })) as Reconciler['on'],
    status: () => ({ name: fleet.name, phase: 'idle', suspended: false, consecutiveFailures: 0, managedObjects: 0, history: [] }) satisfies ReconcilerStatus,
  };
  const ofFleet = notifyOn(fleetOnly, notifier, { onError, types: ['failed', 'recovered'] });

  const all = (() => {
    for (const off of offs) off();
    for (const sub of perApp.values()) sub();
    ofFleet();
  }) as NotifySubscription;
  all.flush = async () => {
    await Promise.all([...perApp.values(), ofFleet].map((s) => s.flush()));
  };
  return all;
}
