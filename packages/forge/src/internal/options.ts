import { ForgeError } from '../forge-error.js';

/** `owner/name` (GitLab: `group/sub/name`) split into owner and name. */
export function splitRepository(forge: string, repository: string): [string, string] {
  const at = repository.lastIndexOf('/');
  if (at <= 0 || at === repository.length - 1 || /\s/.test(repository)) {
    throw new ForgeError('FORGE_INVALID_OPTIONS', `${forge}: repository ${JSON.stringify(repository)} must be "owner/name"`, { data: { forge } });
  }
  return [repository.slice(0, at), repository.slice(at + 1)];
}

/** The token given, else the environment variable; a missing one is `FORGE_INVALID_OPTIONS` naming the variable. */
export function tokenFrom(forge: string, token: string | undefined, variable: string): string {
  const value = token ?? process.env[variable];
  if (!value) throw new ForgeError('FORGE_INVALID_OPTIONS', `${forge}: no token: pass \`token\` or set ${variable}`, { data: { forge } });
  return value;
}

/** The options the shared HTTP client takes, from a provider's options. */
export function httpOptions(o: { fetch?: typeof fetch; timeoutMs?: number; retries?: number; clock?: import('@converge/core').Clock }) {
  return { ...(o.fetch && { fetch: o.fetch }), ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }), ...(o.retries !== undefined && { retries: o.retries }), ...(o.clock && { clock: o.clock }) };
}
