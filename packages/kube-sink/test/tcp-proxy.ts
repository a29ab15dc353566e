import { Socket as NetSocket, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A loopback TCP forwarder in front of the real API server, so a test can cut the network
 * (connections reset, new ones refused) or make it a black hole (accepted, never answered),
 * then restore it. The API server behind it is the real one throughout.
 */
export interface TcpProxy {
  url: string;
  cut(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let mode: 'forward' | 'blackhole' = 'forward';
  const onConnection = (client: Socket): void => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (mode === 'blackhole') return;
    const upstream = new NetSocket();
    upstream.connect(Number(targetPort), hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  };
  let server: Server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  const cut = async (): Promise<void> => {
    await new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  };
  return {
    url: `https://127.0.0.1:${port}`,
    cut,
    blackhole: () => {
      mode = 'blackhole';
    },
    restore: async () => {
      mode = 'forward';
      for (const s of sockets) s.destroy();
      if (!server.listening) await listen();
    },
    close: cut,
  };
}
