import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { killGroup, reapProcess } from './internal/reaper.js';
import { ProcessStartError } from './process-start-error.js';

/** How a supervised process ended. */
export interface ProcessExit {
  /** The exit code, or `null` when a signal ended the process. */
  code: number | null;
  /** The signal that ended the process, or `null` when it exited by itself. */
  signal: NodeJS.Signals | null;
}

/** A child process whose output goes to a log file, that can be stopped gracefully and never outlives the test run. */
export interface SupervisedProcess {
  /** A name for messages, e.g. `etcd`. */
  readonly name: string;
  /** The operating-system process id (also the id of its process group). */
  readonly pid: number;
  /** The file that receives the process's stdout and stderr. */
  readonly logFile: string;
  /** Settles when the process exits. */
  readonly exited: Promise<ProcessExit>;
  /** The exit, once the process has exited. */
  exit(): ProcessExit | undefined;
  /** The last `lines` lines this process wrote to the log file. @default 30 lines */
  logTail(lines?: number): Promise<string>;
  /**
   * Sends SIGTERM; if the process still runs after `timeoutMs`, SIGKILL to its whole process
   * group. Resolves once it exited. @default 10_000 ms
   */
  stop(timeoutMs?: number): Promise<ProcessExit>;
}

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** A name for messages, e.g. `etcd`. */
  name: string;
  /** The executable to run. */
  command: string;
  /** Its arguments. */
  args: readonly string[];
  /** Appends stdout and stderr here. */
  logFile: string;
  /** Working directory. @default this process's */
  cwd?: string;
  /** Environment. @default process.env */
  env?: NodeJS.ProcessEnv;
}

const TAIL_BYTES = 64 * 1024;

/**
 * Spawns a process for a test, as the harnesses (kube-testenv, the test registry, Gitea) do:
 * its output goes straight to `logFile` (not through this process, so a chatty server never
 * stalls on a full pipe), it leads its own process group, and it is killed with that group when
 * this process exits — also when this process is SIGKILLed (a watchdog sees it die). Resolves
 * once the process was spawned; rejects with {@link ProcessStartError} `PROCESS_SPAWN_FAILED`
 * when it cannot be.
 *
 * @example
 * ```ts
 * const agent = await startProcess({ name: 'agent', command: process.execPath, args: ['main.ts'], logFile: '/tmp/agent.log' });
 * // …
 * expect(await agent.stop()).toEqual({ code: 0, signal: null });
 * ```
 */
export async function startProcess(options: StartProcessOptions): Promise<SupervisedProcess> {
  const fd = openSync(options.logFile, 'a');
  // Where this process's output starts: the file may hold an earlier process's.
  const logStart = fstatSync(fd).size;
  const child = (() => {
    try {
      return spawn(options.command, options.args, {
        stdio: ['ignore', fd, fd],
        detached: true,
        ...(options.cwd && { cwd: options.cwd }),
        env: options.env ?? process.env,
      });
    } finally {
      closeSync(fd);
    }
  })();
  let exitInfo: ProcessExit | undefined;
  let release = () => {};
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      release();
      resolve(exitInfo);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (error) {
    throw new ProcessStartError('PROCESS_SPAWN_FAILED', `${options.name}: could not run ${options.command}: ${(error as Error).message}`, { name: options.name, logFile: options.logFile }, { cause: error });
  }
  const pid = child.pid!;
  if (!exitInfo) release = reapProcess(pid);

  async function logTail(lines = 30): Promise<string> {
    const handle = await open(options.logFile, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.max(0, Math.min(size - logStart, TAIL_BYTES));
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, size - length);
      return buf.toString('utf8').split('\n').filter(Boolean).slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  }

  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    exit: () => exitInfo,
    logTail,
    async stop(timeoutMs = 10_000) {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
