#!/usr/bin/env node
// converge-agent: the pull half of GitOps. Reads agent.yaml, keeps the cluster equal to the
// application specs it points at, and serves health, metrics, status and a webhook.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeSink } from '@converge/kube-sink';
import { startAgent } from './agent.ts';
import { loadAgentConfig } from './config.ts';
import { jsonLogger } from './logger.ts';

const { values } = parseArgs({ options: { config: { type: 'string', default: 'agent.yaml' }, kubeconfig: { type: 'string' } } });
const log = jsonLogger();
const kubeConfig = new KubeConfig();
if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
else kubeConfig.loadFromDefault();

let config;
try {
  config = await loadAgentConfig(values.config);
} catch (error) {
  log('error', 'bad configuration', { error: (error as Error).message });
  process.exit(64);
}
const sink = kubeSink({ kubeConfig });
const agent = await startAgent(config, { sink, log });

// First signal: finish the passes in flight (the inventory is written before and after each
// apply, so even a kill leaves it listing at least what was applied), then exit 0. A second
// signal exits at once.
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
