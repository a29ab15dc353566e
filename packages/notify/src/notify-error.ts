import { ConvergeError } from '@converge/core';

/**
 * A notification could not be delivered after every try. `data` has the receiver's origin
 * (never its full URL, which may hold a token), the attempts made and the last HTTP status.
 */
export class NotifyError extends ConvergeError {
  declare readonly code: 'NOTIFY_FAILED';
  constructor(message: string, data: { target: string; attempts: number; status?: number; retryable: boolean }, cause?: unknown) {
    super('NOTIFY_FAILED', message, { data, cause });
  }
}
