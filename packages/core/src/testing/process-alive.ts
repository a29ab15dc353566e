import { readFileSync } from 'node:fs';

/**
 * Whether the process `pid` still runs, for tests that check a process was stopped. A zombie
 * (exited, not yet reaped by whoever inherited it) does not count as running; on systems
 * without `/proc`, a zombie counts.
 *
 * @example
 * ```ts
 * host.kill('SIGKILL');
 * await vi.waitFor(() => expect(processAlive(enginePid)).toBe(false), { timeout: 10_000 });
 * ```
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}
