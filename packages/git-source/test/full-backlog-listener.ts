import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/** A listening port whose accept queue is full, so a new connection never completes. */
export interface FullBacklogListener {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

// A child that listens with the smallest accept queue and then blocks its event loop, so it
// never accepts: the kernel queues the first connections, then drops further SYNs.
const FROZEN = `
const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000));
});`;

/** Starts a {@link FullBacklogListener}: a frozen listener plus the connections that fill its queue. */
export async function startFullBacklogListener(): Promise<FullBacklogListener> {
  const child = spawn(process.execPath, ['-e', FROZEN], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the listener exited with ${code}`)));
  });
  const fillers: Socket[] = [];
  // Fill the queue: these complete at the TCP level; the next one cannot.
  for (let i = 0; i < 2; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of fillers) s.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
