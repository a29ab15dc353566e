import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { ProcessStartError } from './process-start-error.js';
import { startProcess, type SupervisedProcess } from './start-process.js';

/** What to run for one attempt, on the port {@link StartServerProcessOptions.command} was given. */
export interface ServerCommand {
  /** The executable to run. */
  command: string;
  /** Its arguments. */
  args: readonly string[];
  /** Working directory. @default this process's */
  cwd?: string;
  /** Environment. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Progress of {@link startServerProcess}, one event per spawn and per lost port race. */
export type ServerProcessEvent =
  /** A process was spawned to listen on `port` and is being waited for. */
  | { type: 'spawned'; pid: number; port: number; attempt: number }
  /** The process exited because another process holds `port`; the next attempt takes another one. */
  | { type: 'port-taken'; port: number; attempt: number };

/** Options of {@link startServerProcess}. */
export interface StartServerProcessOptions {
  /** A name for messages, e.g. `etcd`. */
  name: string;
  /** The command that serves on `port`; called once per attempt, so it may write a config file with the port in it. */
  command(port: number): ServerCommand | Promise<ServerCommand>;
  /**
   * Whether the server is ready on `port` (e.g. its health endpoint answers 200); polled until
   * it says so. A throw counts as "not yet". `signal` aborts after `probeTimeoutMs`.
   */
  ready(port: number, signal: AbortSignal): Promise<boolean>;
  /** Appends stdout and stderr of every attempt here. */
  logFile: string;
  /** Serve on this port and no other (e.g. a restart on the same address): no retry elsewhere. @default ports from `pickPort` */
  port?: number;
  /** Picks the port of an attempt. @default {@link freePort} on 127.0.0.1 */
  pickPort?: () => Promise<number>;
  /** How many ports to try when the last one was taken. @default 3 */
  attempts?: number;
  /** How long the process may take to become ready, over all attempts. @default 30_000 */
  startTimeoutMs?: number;
  /** How long one `ready` call may take. @default 2_000 */
  probeTimeoutMs?: number;
  /** How often `ready` is asked. @default 100 */
  pollIntervalMs?: number;
  /** How long stopping a process that timed out waits after SIGTERM before SIGKILL. @default 10_000 */
  stopTimeoutMs?: number;
  /** Receives progress; a throw is ignored. @default no listener */
  onEvent?: (event: ServerProcessEvent) => void;
}

/** A server process that answered its readiness check, and the port it serves on. */
export interface ServerProcess extends SupervisedProcess {
  /** The port it listens on. */
  readonly port: number;
}

/** What a server prints when another process holds its port (Go's `bind: address already in use`, Node's `EADDRINUSE`). */
const PORT_TAKEN = /address already in use|bind: .*in use|EADDRINUSE/i;

/**
 * Starts a server for a test: picks a free port, spawns `command(port)` with
 * {@link startProcess} (log file, own process group, killed when the test run dies), and polls
 * `ready` until it answers. When the process exits because another process took the port
 * between picking and binding, it starts again on another port (up to `attempts`).
 *
 * @throws {@link ProcessStartError} `PROCESS_EXITED` with the log tail when the process exits
 * for another reason, `PROCESS_START_TIMEOUT` (after stopping it) when it is not ready within
 * `startTimeoutMs`, `PROCESS_SPAWN_FAILED` when it cannot be run.
 *
 * @example
 * ```ts
 * const registry = await startServerProcess({
 *   name: 'registry',
 *   logFile: join(dir, 'registry.log'),
 *   command: (port) => ({ command: 'registry', args: ['serve', writeConfig(port)] }),
 *   ready: async (port, signal) => (await fetch(`http://127.0.0.1:${port}/v2/`, { signal })).status < 500,
 * });
 * await registry.stop();
 * ```
 */
export async function startServerProcess(options: StartServerProcessOptions): Promise<ServerProcess> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + startTimeoutMs;
  const attempts = options.port === undefined ? (options.attempts ?? 3) : 1;
  const pickPort = options.pickPort ?? (() => freePort());
  const emit = (event: ServerProcessEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // a listener's failure must not break startup
    }
  };
  const details = async (proc: SupervisedProcess) => ({ name: options.name, logFile: options.logFile, logTail: await proc.logTail(), ...(proc.exit() && { exit: proc.exit() }) });

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await pickPort());
    const proc = await startProcess({ name: options.name, logFile: options.logFile, ...(await options.command(port)) });
    emit({ type: 'spawned', pid: proc.pid, port, attempt });
    for (;;) {
      const ready = !proc.exit() && (await options.ready(port, AbortSignal.timeout(options.probeTimeoutMs ?? 2_000)).catch(() => false));
      // Checked after the probe too: a probe can reach whoever else holds the port.
      const exit = proc.exit();
      if (exit) {
        const logTail = await proc.logTail();
        if (PORT_TAKEN.test(logTail) && attempt < attempts) {
          emit({ type: 'port-taken', port, attempt });
          break;
        }
        throw new ProcessStartError('PROCESS_EXITED', `${options.name} exited during startup (${exit.signal ?? `code ${exit.code}`}); last output:\n${logTail}`, await details(proc));
      }
      if (ready) return { ...proc, port };
      if (Date.now() > deadline) {
        const info = await details(proc);
        await proc.stop(options.stopTimeoutMs);
        throw new ProcessStartError('PROCESS_START_TIMEOUT', `${options.name} was not ready within ${startTimeoutMs} ms; last output:\n${info.logTail}`, info);
      }
      await sleep(options.pollIntervalMs ?? 100);
    }
  }
}
