import { spawn } from 'node:child_process';

/** The result of a git CLI call. */
export interface GitRunResult {
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs the git CLI and resolves with its output; rejects with stderr on a non-zero exit.
 * Author and committer default to a fixed test identity so commits are reproducible.
 */
export function runGit(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string | Uint8Array } = {},
): Promise<GitRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Converge Test',
        GIT_AUTHOR_EMAIL: 'test@converge.invalid',
        GIT_COMMITTER_NAME: 'Converge Test',
        GIT_COMMITTER_EMAIL: 'test@converge.invalid',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`git ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(options.input);
  });
}
