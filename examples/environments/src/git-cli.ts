import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the git CLI as a person (or a CI job) promoting a change would; resolves with stdout. */
export async function git(cwd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=Release Bot', '-c', 'user.email=release@example.com', ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' },
  });
  return stdout.trim();
}

/** Clones `url` at `branch` into a temporary working copy, runs `fn` in it, removes it. */
export async function inClone<T>(url: string, branch: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const parent = await mkdtemp(join(tmpdir(), 'converge-promote-'));
  const dir = join(parent, 'repo');
  try {
    await git(parent, ['clone', '-q', '--branch', branch, url, dir]);
    return await fn(dir);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}
