import { execFileSync } from 'node:child_process';

/** Builds (or reuses from the cache outside the clone) the Gitea that startGitea() runs; about 5 minutes the first time. */
export default function setup(): void {
  execFileSync('bash', [new URL('../scripts/build-gitea.sh', import.meta.url).pathname], { stdio: ['ignore', 'ignore', 'inherit'] });
}
