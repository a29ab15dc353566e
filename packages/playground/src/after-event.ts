/**
 * Does `action`, then waits for the next event (from a reconciler or a fleet) that matches
 * `where`; rejects after `timeoutMs` so a stuck example says so instead of hanging.
 */
export async function afterEvent<E extends { type: string }>(
  source: { on(type: '*', fn: (event: E) => void): () => void },
  action: () => unknown,
  where: (event: E) => boolean,
  timeoutMs = 60_000,
): Promise<E> {
  let off = () => {};
  let timer: NodeJS.Timeout | undefined;
  const seen = new Promise<E>((resolve) => {
    off = source.on('*', (event) => {
      if (where(event)) resolve(event);
    });
  });
  try {
    await action();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`nothing happened within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    return await Promise.race([seen, timeout]);
  } finally {
    off();
    clearTimeout(timer);
  }
}
