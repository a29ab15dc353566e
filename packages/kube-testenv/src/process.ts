import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** How a supervised process ended. */
export interface ProcessExit {
  /** The exit code, or `null` when a signal ended the process. */
  code: number | null;
  /** The signal that ended the process, or `null` when it exited by itself. */
  signal: NodeJS.Signals | null;
}

/** A child process whose output goes to a log file and that can be stopped gracefully. */
export interface SupervisedProcess {
  /** A name for messages, e.g. `etcd`. */
  readonly name: string;
  /** The operating-system process id. */
  readonly pid: number;
  /** The file that receives the process's stdout and stderr. */
  readonly logFile: string;
  /** Settles when the process exits. */
  readonly exited: Promise<ProcessExit>;
  /** The exit, once the process has exited. */
  exit(): ProcessExit | undefined;
  /** The last `lines` lines of the log file. */
  logTail(lines?: number): Promise<string>;
  /** Sends SIGTERM, then SIGKILL if the process is still running after `timeoutMs`; resolves once it exited. */
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

/**
 * Spawns a process with its output sent straight to a file (not through this process, so a
 * chatty server never stalls on a full pipe) and resolves once it was spawned.
 */
export async function startProcess(options: StartProcessOptions): Promise<SupervisedProcess> {
  const fd = openSync(options.logFile, 'a');
  const child = (() => {
    try {
      return spawn(options.command, options.args, {
        stdio: ['ignore', fd, fd],
        ...(options.cwd && { cwd: options.cwd }),
        env: options.env ?? process.env,
      });
    } finally {
      closeSync(fd);
    }
  })();
  let exitInfo: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid!;

  async function logTail(lines = 30): Promise<string> {
    const handle = await open(options.logFile, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
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
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
