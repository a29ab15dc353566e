import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the test server answers: normally, never, with a status, or without an ETag. */
export type BundleServerMode = 'serve' | 'stall' | 'no-etag' | { status: number };

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  ifNoneMatch: string | undefined;
  authorization: string | undefined;
  /** Whether a body was sent back. */
  sentBody: boolean;
}

/** A real HTTP server on loopback serving a JSON bundle with a strong ETag, as a config service would. */
export interface BundleServer {
  url: string;
  requests: SeenRequest[];
  mode: BundleServerMode;
  /** Replaces the bundle: a new ETag. */
  setFiles(files: Record<string, string>): void;
  /** Replaces the raw body (for malformed bundles). */
  setBody(body: string): void;
  close(): Promise<void>;
}

/** Starts a {@link BundleServer}; with `token`, requests without `Bearer <token>` get 401. */
export async function startBundleServer(files: Record<string, string>, options: { token?: string } = {}): Promise<BundleServer> {
  let body = '';
  let etag = '';
  const setBody = (text: string) => {
    body = text;
    etag = `"${createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;
  };
  setBody(JSON.stringify({ files }));

  const server = createServer((req: IncomingMessage, res) => {
    const seen: SeenRequest = { method: req.method ?? '', ifNoneMatch: req.headers['if-none-match'], authorization: req.headers.authorization, sentBody: false };
    state.requests.push(seen);
    const mode = state.mode;
    if (mode === 'stall') return; // never answers; close() cuts the connection
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    if (typeof mode === 'object') {
      res.writeHead(mode.status).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (mode !== 'no-etag') headers['etag'] = etag;
    if (mode !== 'no-etag' && req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    seen.sentBody = req.method === 'GET';
    res.end(req.method === 'GET' ? body : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const state: BundleServer = {
    url: `http://127.0.0.1:${port}/bundles/shop.json`,
    requests: [],
    mode: 'serve',
    setFiles: (next) => setBody(JSON.stringify({ files: next })),
    setBody,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}
