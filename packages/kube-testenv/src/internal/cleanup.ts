import { spawn } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Last-resort cleanup, so a crashed or killed test run leaves no etcd or kube-apiserver behind.
 *
 * - A process `exit` listener kills the children and removes the temp dir synchronously (the
 *   normal path when a test run throws or calls `process.exit`).
 * - A detached watchdog shell polls the parent's pid and does the same when the parent dies
 *   without running `exit` listeners (SIGKILL, OOM). It reads the pids from `<dir>/pids`.
 */
export interface CleanupGuard {
  /** Records a child pid to kill if the parent dies. */
  track(pid: number): void;
  /** Disarms the guard after a normal stop. */
  release(): void;
}

const guards = new Set<{ pids: number[]; dir: string; watchdog?: number }>();
let listening = false;

function onExit(): void {
  for (const g of guards) {
    for (const pid of [g.watchdog, ...g.pids]) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      rmSync(g.dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  guards.clear();
}

const WATCHDOG = `
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[ -f "$dir/pids" ] && kill -9 $(cat "$dir/pids") 2>/dev/null
rm -rf "$dir"
`;

/** Arms a guard for the temp dir `dir` of one test environment. */
export function guardCleanup(dir: string): CleanupGuard {
  const entry: { pids: number[]; dir: string; watchdog?: number } = { pids: [], dir };
  try {
    const watchdog = spawn('sh', ['-c', WATCHDOG, 'converge-testenv-watchdog', String(process.pid), dir], {
      detached: true,
      stdio: 'ignore',
    });
    watchdog.on('error', () => {});
    watchdog.unref();
    entry.watchdog = watchdog.pid;
  } catch {
    // no sh: the exit listener still covers ordinary exits
  }
  guards.add(entry);
  if (!listening) {
    process.on('exit', onExit);
    listening = true;
  }
  return {
    track(pid) {
      entry.pids.push(pid);
      appendFileSync(join(dir, 'pids'), `${pid}\n`);
    },
    release() {
      guards.delete(entry);
      if (entry.watchdog !== undefined) {
        try {
          process.kill(entry.watchdog, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
