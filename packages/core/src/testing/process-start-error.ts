import { ConvergeError, type ConvergeErrorData, type ConvergeErrorOptions } from '../errors.js';
import type { ProcessExit } from './start-process.js';

/** The failure kinds of {@link ProcessStartError}. */
export type ProcessStartErrorCode = 'PROCESS_SPAWN_FAILED' | 'PROCESS_EXITED' | 'PROCESS_START_TIMEOUT';

/** What a {@link ProcessStartError} carries besides its message. */
export interface ProcessStartErrorDetails {
  /** The process's name, e.g. `etcd`. */
  name: string;
  /** The file with its whole output. */
  logFile: string;
  /** Its last lines of output. */
  logTail?: string;
  /** How it ended, when it exited. */
  exit?: ProcessExit;
}

/**
 * A test harness's process could not be spawned (`PROCESS_SPAWN_FAILED`: e.g. the binary is
 * missing), exited before it was ready (`PROCESS_EXITED`), or was not ready in time
 * (`PROCESS_START_TIMEOUT`, retryable). `data` has the process's `name`, its `logFile`, the
 * `logTail` it printed and, once it exited, its `exit`. Harnesses wrap it in their own error.
 */
export class ProcessStartError extends ConvergeError {
  declare readonly code: ProcessStartErrorCode;
  declare readonly data: ConvergeErrorData & ProcessStartErrorDetails;
  constructor(code: ProcessStartErrorCode, message: string, details: ProcessStartErrorDetails, options: ConvergeErrorOptions = {}) {
    super(code, message, {
      ...options,
      data: { ...options.data, ...details, ...(code === 'PROCESS_START_TIMEOUT' && { retryable: true }) },
    });
  }
}
