import type { EventWithout } from '@converge/core';
import { ProcessStartError, startServerProcess, type ServerCommand, type ServerProcess } from '@converge/core/testing';
import { ControlPlaneError, type ControlPlaneComponent } from '../errors.js';
import type { TestEnvProgressEvent } from '../events.js';

/** What starting etcd and kube-apiserver share: the environment's dir, deadline, timeouts and progress. */
export interface StartContext {
  /** The environment's temp dir (logs, data, certificates). */
  dir: string;
  /** When the whole startup must be done (epoch ms). */
  deadline: number;
  /** `StartTestEnvOptions.startTimeoutMs`, for messages. */
  startTimeoutMs: number;
  /** How long stopping waits after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
  /** Reports progress; `elapsedMs` is added by the caller. */
  emit(event: EventWithout<TestEnvProgressEvent, 'elapsedMs'>): void;
}

/** A running control-plane process and the URL it serves. */
export interface Component {
  /** The process (stop, exit, log tail). */
  proc: ServerProcess;
  /** Where it serves, e.g. `http://127.0.0.1:2379`. */
  url: string;
}

/** How to run one component; see `startServerProcess`. */
export interface ComponentSpec {
  /** The URL a component serves on `port`. */
  url(port: number): string;
  /** Its command line on `port`. */
  command(port: number): ServerCommand | Promise<ServerCommand>;
  /** Whether it serves at `url` yet. */
  ready(url: string, signal: AbortSignal): Promise<boolean>;
  /** Where its output goes. */
  logFile: string;
  /** A fixed port (a restart on the same address). @default a free one */
  port?: number;
}

/**
 * Starts one component through core's process helper (a free port, another one when it lost the
 * race for it, a watchdog against orphans), reporting progress as test-env events and failures as
 * {@link ControlPlaneError} with the component's log tail.
 */
export async function startComponent(ctx: StartContext, component: ControlPlaneComponent, spec: ComponentSpec): Promise<Component> {
  try {
    const proc = await startServerProcess({
      name: component,
      logFile: spec.logFile,
      command: spec.command,
      ready: (port, signal) => spec.ready(spec.url(port), signal),
      ...(spec.port !== undefined && { port: spec.port }),
      startTimeoutMs: Math.max(0, ctx.deadline - Date.now()),
      stopTimeoutMs: ctx.stopTimeoutMs,
      onEvent: (e) =>
        ctx.emit(
          e.type === 'spawned'
            ? { type: 'component-starting', component, url: spec.url(e.port), pid: e.pid }
            : { type: 'component-retrying', component, reason: `port ${e.port} taken by another process` },
        ),
    });
    ctx.emit({ type: 'component-ready', component });
    return { proc, url: spec.url(proc.port) };
  } catch (error) {
    if (!(error instanceof ProcessStartError)) throw error;
    const { logTail = '', logFile } = error.data;
    if (error.code === 'PROCESS_START_TIMEOUT') {
      throw new ControlPlaneError(
        'TESTENV_START_TIMEOUT',
        `${component} was not ready within ${ctx.startTimeoutMs} ms; raise startTimeoutMs if the machine is busy. Last output:\n${logTail}`,
        { component, logTail, logFile, data: { retryable: true }, cause: error },
      );
    }
    throw new ControlPlaneError('TESTENV_START_FAILED', error.message, { component, logTail, logFile, cause: error });
  }
}

/** Command-line flags from defaults and overrides, without the leading `--`; an override set to `undefined` drops a default. */
export function flagList(defaults: Record<string, string>, overrides: Record<string, string | undefined> = {}): string[] {
  const merged: Record<string, string | undefined> = { ...defaults, ...overrides };
  return Object.entries(merged).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}=${v}`]));
}
