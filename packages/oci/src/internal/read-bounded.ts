import { OciError } from '../oci-error.js';

/**
 * Reads a response body, refusing (`OCI_TOO_LARGE`) as soon as it passes `maxBytes`: a
 * `Content-Length` above the limit is refused before reading, and a body that runs on without
 * one is cut off at the limit.
 */
export async function readBounded(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const tooLarge = () => new OciError('OCI_TOO_LARGE', `${what} is larger than ${maxBytes} bytes`, { data: { maxBytes } });
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
