import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Last-resort cleanup of what test harnesses start, so a test run that crashes or is killed
 * leaves no server process and no temp dir behind. One per Node process:
 *
 * - a process `exit` listener kills the tracked process groups and removes the tracked dirs
 *   synchronously (a run that throws or calls `process.exit`);
 * - a detached watchdog shell polls this process's pid and does the same from a list file when
 *   this process dies without running `exit` listeners (SIGKILL, OOM, SIGINT). Node has no
 *   `Pdeathsig`, hence a watchdog. It runs only while something is tracked.
 */

type Entry = { kind: 'pid'; pid: number } | { kind: 'dir'; path: string };

interface ReaperState {
  entries: Set<Entry>;
  listFile: string;
  watchdog: ChildProcess | undefined;
  listening: boolean;
}

/**
 * Kept on `globalThis`, so the process has one reaper (one `exit` listener, one watchdog) even
 * when this module is loaded more than once — vitest loads a copy per project's global setup.
 */
const state: ReaperState = ((globalThis as Record<symbol, ReaperState | undefined>)[Symbol.for('converge.testing.reaper')] ??= {
  entries: new Set<Entry>(),
  listFile: join(tmpdir(), `converge-reaper-${process.pid}-${randomBytes(4).toString('hex')}`),
  watchdog: undefined,
  listening: false,
});
const { entries, listFile } = state;

const WATCHDOG = `
parent=$1; list=$2
while kill -0 "$parent" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$parent/status"; do sleep 1; done
[ -f "$list" ] || exit 0
while read -r kind value; do
  case $kind in
    pid) kill -9 -"$value" 2>/dev/null || kill -9 "$value" 2>/dev/null ;;
    dir) rm -rf "$value" ;;
  esac
done < "$list"
rm -f "$list"
`;

/** Kills a process's group (harness processes lead their own), else the process itself. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function writeList(): void {
  // Processes first, so nothing writes into a dir while it is removed.
  const sorted = [...entries].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'pid' ? -1 : 1));
  writeFileSync(listFile, sorted.map((e) => (e.kind === 'pid' ? `pid ${e.pid}\n` : `dir ${e.path}\n`)).join(''));
}

function stopWatchdog(): void {
  if (state.watchdog?.pid !== undefined) killGroup(state.watchdog.pid, 'SIGKILL');
  state.watchdog = undefined;
  rmSync(listFile, { force: true });
}

function reapAll(): void {
  const all = [...entries];
  entries.clear();
  for (const e of all) if (e.kind === 'pid') killGroup(e.pid, 'SIGKILL');
  for (const e of all) {
    if (e.kind !== 'dir') continue;
    try {
      rmSync(e.path, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  stopWatchdog();
}

function track(entry: Entry): () => void {
  entries.add(entry);
  writeList();
  if (!state.watchdog) {
    try {
      const watchdog = spawn('sh', ['-c', WATCHDOG, 'converge-harness-watchdog', String(process.pid), listFile], { detached: true, stdio: 'ignore' });
      watchdog.on('error', () => {});
      watchdog.unref();
      state.watchdog = watchdog;
    } catch {
      // no sh: the exit listener still covers ordinary exits
    }
  }
  if (!state.listening) {
    process.on('exit', reapAll);
    state.listening = true;
  }
  return () => {
    if (!entries.delete(entry)) return;
    if (entries.size === 0) stopWatchdog();
    else writeList();
  };
}

/** Kills the process group of `pid` if this process dies first; the returned function stops tracking it. */
export function reapProcess(pid: number): () => void {
  return track({ kind: 'pid', pid });
}

/** Removes `path` if this process dies first; the returned function stops tracking it. */
export function reapDir(path: string): () => void {
  return track({ kind: 'dir', path });
}
