/** A network failure in a few words: the system error code and address, never headers. */
export function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError'))) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') {
    const message = typeof cause.message === 'string' ? (cause.message.split('\n')[0] ?? '').trim() : '';
    if (cause.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/.test(message)) {
      return 'TLS handshake failed: it seems to speak plain HTTP; mark the registry insecure if that is intended';
    }
    if (cause.code.startsWith('ERR_SSL') || cause.code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED/.test(cause.code)) return `TLS failed: ${cause.code}`;
    return message.length > 0 && message.length < 200 ? message : cause.code;
  }
  if (cause instanceof AggregateError) return cause.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  return error instanceof Error ? error.message : String(error);
}
