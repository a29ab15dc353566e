import { readFile } from 'node:fs/promises';
import { parseGitRef, type GitRef } from '@converge/git-source';
import type { LeaseTiming } from '@converge/kube-sink';
import { parse } from 'yaml';

/** The agent's configuration file. */
export interface AgentConfig {
  /** Names the fleet; applications are `<name>-<app>`. */
  name: string;
  /** Where the application specs live: a git folder (`url`, `ref`, `path`) or a local `dir`. */
  apps: { url?: string; ref?: GitRef; path?: string; dir?: string };
  /** Poll interval in ms for the spec folder and (by default) every application. @default 60000 */
  intervalMs: number;
  /** Address of the HTTP endpoints. @default 127.0.0.1:9090 */
  listen: { host: string; port: number };
  /** The HMAC secret of POST /webhook, if any (read from the variable `webhook.secretEnv` names). */
  webhookSecret?: string;
  /** The bearer token of the control endpoints, if any (read from the variable `control.tokenEnv` names). */
  controlToken?: string;
  /**
   * Take fields back from whoever changed them on every pass, as Flux and Argo CD do: a hand
   * edit never blocks a new commit. With `false`, only drift passes (same revision) force, and a
   * new commit that sets a field another manager owns fails with APPLY_CONFLICT naming it.
   * @default true
   */
  force: boolean;
  /** Where to POST notifications (failed pass, recovered, drift corrected), and the HMAC secret to sign them with. */
  notify?: { url: string; secret?: string };
  /**
   * Report each application's deployments as commit statuses (`converge/<name>-<app>`: pending,
   * success, failure with the reason) on the repository the commits are in; the token comes
   * from the variable `forge.tokenEnv` names. `url` is Gitea's address (required for gitea),
   * GitLab's host, or GitHub Enterprise's API root.
   */
  forge?: { kind: 'gitea' | 'github' | 'gitlab'; url?: string; repository: string; token: string };
  /**
   * The namespace holding the agent's inventories and Leases (it must exist). @default in a
   * pod, the pod's namespace (the service account's `namespace` file); elsewhere `converge-system`
   */
  namespace?: string;
  /**
   * How several replicas share the work: `leader` (one leads and writes, the others stand by)
   * or `shard` (every replica runs its share of the apps). Each replica's identity is `POD_NAME`
   * (or the host name). `lease` sets the Leases' timing, as kube-sink's `LeaseTiming`
   * (`leaseDurationMs`, `renewDeadlineMs`, `retryPeriodMs`; client-go's 15 s / 10 s / 2 s by
   * default; the fault tests run with 4 s / 3 s / 0.5 s). @default none: one replica
   */
  replicas?: { mode: 'leader' | 'shard'; lease?: LeaseTiming };
}

const FORGE_KINDS = ['gitea', 'github', 'gitlab'] as const;

/** The configuration file is invalid; the message names the file and the field. */
export class AgentConfigError extends Error {
  readonly code = 'AGENT_CONFIG_INVALID';
}

/**
 * Reads and checks the configuration; messages name the file and field. Secrets are never in
 * the file: `webhook.secretEnv`, `control.tokenEnv`, `notify.secretEnv` and `forge.tokenEnv` name environment variables.
 */
export async function loadAgentConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<AgentConfig> {
  const raw = (parse(await readFile(path, 'utf8')) ?? {}) as Record<string, any>;
  const fail = (message: string): never => {
    throw new AgentConfigError(`${path}: ${message}`);
  };
  const secretFrom = (field: string, name: unknown): string | undefined => {
    if (name === undefined) return undefined;
    if (typeof name !== 'string') return fail(`${field} must name an environment variable`);
    const value = env[name];
    if (!value) return fail(`${field}: environment variable ${name} is not set`);
    return value;
  };

  if (typeof raw['name'] !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(raw['name'])) fail('name is required (a DNS label: a-z, 0-9, -)');
  const apps = raw['apps'];
  if (!apps || typeof apps !== 'object' || (!apps.url && !apps.dir)) fail('apps.url (a git repository) or apps.dir (a folder) is required');
  if (apps.ref !== undefined) {
    try {
      apps.ref = parseGitRef(apps.ref);
    } catch (error) {
      fail(`apps.${(error as Error).message}`);
    }
  }
  if (raw['interval'] !== undefined) fail('interval is now intervalMs (milliseconds)');
  const intervalMs = Number(raw['intervalMs'] ?? 60_000);
  if (!Number.isInteger(intervalMs) || intervalMs < 1000) fail('intervalMs must be a number of milliseconds, at least 1000');
  const listen = String(raw['listen'] ?? '127.0.0.1:9090');
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const port = Number(listen.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) fail('listen must be host:port');

  const force = raw['force'] ?? true;
  if (typeof force !== 'boolean') fail('force must be true or false');
  const webhookSecret = secretFrom('webhook.secretEnv', raw['webhook']?.secretEnv);
  const controlToken = secretFrom('control.tokenEnv', raw['control']?.tokenEnv);
  let notify: AgentConfig['notify'];
  if (raw['notify'] !== undefined) {
    const url = raw['notify']?.url;
    if (typeof url !== 'string' || !URL.canParse(url)) fail('notify.url must be an http(s) URL');
    const secret = secretFrom('notify.secretEnv', raw['notify'].secretEnv);
    notify = { url, ...(secret && { secret }) };
  }
  let forge: AgentConfig['forge'];
  if (raw['forge'] !== undefined) {
    const given = (raw['forge'] ?? {}) as Record<string, unknown>;
    const kind = FORGE_KINDS.find((k) => k === given['kind']) ?? fail(`forge.kind must be ${FORGE_KINDS.join(', ')}`);
    const url = given['url'];
    if (url !== undefined && (typeof url !== 'string' || !URL.canParse(url))) fail('forge.url must be an http(s) URL');
    if (kind === 'gitea' && url === undefined) fail('forge.url is required for gitea');
    const repository = typeof given['repository'] === 'string' && given['repository'].includes('/') ? given['repository'] : fail('forge.repository must be owner/name (GitLab: the project path)');
    const token = secretFrom('forge.tokenEnv', given['tokenEnv']) ?? fail('forge.tokenEnv must name the environment variable holding the forge token');
    forge = { kind, ...(typeof url === 'string' && { url }), repository, token };
  }
  const namespace = raw['namespace'];
  if (namespace !== undefined && (typeof namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace))) fail('namespace must be a namespace name');
  const mode = raw['replicas']?.mode;
  if (raw['replicas'] !== undefined && mode !== 'leader' && mode !== 'shard') fail('replicas.mode must be leader or shard');
  const lease = raw['replicas']?.lease as Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(lease ?? {})) {
    if (!['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'].includes(key)) fail(`replicas.lease.${key} is not a lease setting (leaseDurationMs, renewDeadlineMs, retryPeriodMs)`);
    if (!Number.isInteger(value) || (value as number) <= 0) fail(`replicas.lease.${key} must be a positive number of milliseconds`);
  }
  return {
    name: raw['name'],
    apps,
    intervalMs,
    listen: { host, port },
    force,
    ...(webhookSecret && { webhookSecret }),
    ...(controlToken && { controlToken }),
    ...(notify && { notify }),
    ...(forge && { forge }),
    ...(namespace !== undefined && { namespace }),
    ...(mode !== undefined && { replicas: { mode, ...(lease && { lease: lease as LeaseTiming }) } }),
  };
}
