/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts (the promise
 * runs on; its rejection is then ignored). For work shared by several callers, such as one
 * discovery request many passes wait on: the shared work must not carry one caller's signal, and
 * each caller still stops waiting when its own pass is cancelled.
 *
 * @example
 * ```ts
 * const groups = await raceAbort(sharedGroupsRequest, pass.signal);
 * ```
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
