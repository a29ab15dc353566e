#!/usr/bin/env node
// converge-agent: the pull half of GitOps. Reads agent.yaml, keeps the cluster equal to the
// application specs it points at, and serves health, metrics, status and a webhook.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { kubeSink } from '@converge/kube-sink';
import { startAgent } from './agent.ts';
import { loadAgentConfig } from './config.ts';
import { loadAgentKubeConfig } from './kube-config.ts';
import { jsonLogger } from './logger.ts';
import { agentReplicas } from './replicas.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'agent.yaml' },
    kubeconfig: { type: 'string' },
    // Where the service account token is mounted, if not at /var/run/secrets/… (a prefix of that path).
    'service-account-root': { type: 'string' },
  },
});
const log = jsonLogger();

let config, cluster;
try {
  config = await loadAgentConfig(values.config);
  cluster = loadAgentKubeConfig({ kubeconfig: values.kubeconfig, serviceAccountRoot: values['service-account-root'] });
} catch (error) {
  log('error', 'bad configuration', { error: (error as Error).message });
  process.exit(64);
}
const { kubeConfig } = cluster;
// Inventories and Leases live in the agent's own namespace: the only one whose rights it needs for itself.
const namespace = config.namespace ?? cluster.namespace ?? 'converge-system';
const identity = process.env['POD_NAME'] ?? hostname();
log('info', 'cluster', { server: kubeConfig.getCurrentCluster()?.server, mode: cluster.mode, namespace, identity });
const sink = kubeSink({ kubeConfig, inventory: { namespace } });
let replicas;
try {
  replicas = config.replicas && agentReplicas({ mode: config.replicas.mode, kubeConfig, name: config.name, namespace, identity, log, ...(config.replicas.lease && { lease: config.replicas.lease }) });
} catch (error) {
  // LEASE_OPTIONS_INVALID: the lease timings do not keep two holders apart.
  log('error', 'bad configuration', { error: (error as Error).message });
  process.exit(64);
}
const agent = await startAgent(config, { sink, log, ...(replicas && { replicas }) });

// First signal: finish the passes in flight (the inventory is written before and after each
// apply, so even a kill leaves it listing at least what was applied), give the Leases up so
// another replica takes over at once, then exit 0. A second signal exits at once.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) {
      log('warn', 'second signal: exiting without waiting', { signal });
      process.exit(1);
    }
    stopping = true;
    log('info', 'shutting down: finishing passes in flight', { signal });
    void agent
      .stop()
      .then(() => sink.close())
      .then(() => process.exit(0));
  });
}
