import { createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP server that accepts every connection and never writes a byte. */
export interface SilentTcpServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Connections currently open (a client that gave up has closed its own). */
  open: Set<Socket>;
  /** Resolves once no connection is open, or rejects after `ms`. */
  drained(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a {@link SilentTcpServer} on 127.0.0.1. */
export async function startSilentTcpServer(): Promise<SilentTcpServer> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => open.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    open,
    async drained(ms) {
      const deadline = Date.now() + ms;
      while (open.size > 0) {
        if (Date.now() > deadline) throw new Error(`${open.size} connection(s) still open after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
