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

const sink = kubeSink({ kubeConfig });
const agent = await startAgent(await loadAgentConfig(values.config), { sink, log });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down: finishing passes in flight', { signal });
    void agent
      .stop()
      .then(() => sink.close())
      .then(() => process.exit(0));
  });
}
