import { gzipSync } from 'node:zlib';
import tar, { type Header } from 'tar-stream';

/**
 * A tar built entry by entry (gzipped unless told otherwise), to craft the layers a hostile
 * pusher would: any name, link or kind of entry. An entry without content is written as is.
 */
export async function tarLayer(entries: Partial<Header>[], contents: (string | undefined)[], options: { gzip?: boolean } = {}): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  entries.forEach((header, i) => {
    const content = contents[i];
    if (content === undefined) pack.entry(header as Header);
    else pack.entry(header as Header, content);
  });
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  return options.gzip === false ? raw : gzipSync(raw);
}
