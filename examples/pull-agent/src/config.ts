import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

/** The agent's configuration file. */
export interface AgentConfig {
  /** Names the fleet; applications are `<name>-<app>`. */
  name: string;
  /** Where the application specs live: a git folder (`url`, `ref`, `path`) or a local `dir`. */
  apps: { url?: string; ref?: Record<string, string>; path?: string; dir?: string };
  /** Poll interval in ms for the spec folder and (by default) every application. */
  interval: number;
  /** Address of the HTTP endpoints. */
  listen: { host: string; port: number };
  /** The HMAC secret of POST /webhook, if any. */
  webhookSecret?: string;
}

/** Reads and checks the configuration; messages name the file and field. */
export async function loadAgentConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<AgentConfig> {
  const raw = (parse(await readFile(path, 'utf8')) ?? {}) as Record<string, any>;
  const fail = (message: string): never => {
    throw new Error(`${path}: ${message}`);
  };
  if (typeof raw['name'] !== 'string') fail('name is required');
  const apps = raw['apps'];
  if (!apps || typeof apps !== 'object' || (!apps.url && !apps.dir)) fail('apps.url (a git repository) or apps.dir (a folder) is required');
  const [host, port] = String(raw['listen'] ?? '127.0.0.1:9090').split(':');
  if (!host || !Number.isInteger(Number(port))) fail('listen must be host:port');
  const secretEnv = raw['webhook']?.secretEnv as string | undefined;
  return {
    name: raw['name'],
    apps,
    interval: Number(raw['interval'] ?? 60_000),
    listen: { host: host!, port: Number(port) },
    ...(secretEnv && env[secretEnv] && { webhookSecret: env[secretEnv] }),
  };
}
