import { raceAbort } from '@converge/core';
import type { GitHttpResponse, HttpClient } from 'isomorphic-git';

/**
 * Wraps a caller-supplied transport so an aborted signal ends the operation at once: the
 * request and every body chunk race the signal. The transport's own request is left to it
 * (it has no way to be told), but nothing of ours waits for it.
 */
export function abortableHttp(http: HttpClient, signal: AbortSignal | undefined): HttpClient {
  if (!signal) return http;
  return {
    async request(req): Promise<GitHttpResponse> {
      const res = await raceAbort(http.request(req), signal);
      return { ...res, ...(res.body && { body: abortableBody(res.body, signal) }) };
    },
  };
}

async function* abortableBody(body: AsyncIterableIterator<Uint8Array>, signal: AbortSignal): AsyncIterableIterator<Uint8Array> {
  try {
    for (;;) {
      const next = await raceAbort(body.next(), signal);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void body.return?.();
  }
}
