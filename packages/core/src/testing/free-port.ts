import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on `host` (listens on port 0, reads the port, closes).
 * Another process may take the port before it is used; `startServerProcess` tries another one
 * when that happens.
 *
 * @param host - the address to bind. @default '127.0.0.1'
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`could not get a free port on ${host}`))));
    });
  });
}
