import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Runs the helm binary with its own empty config/cache/data folders. */
export function helm(helmBin: string, args: string[], home: string): string {
  return execFileSync(helmBin, args, { encoding: 'utf8', env: helmEnv(home) });
}

/**
 * {@link helm} without blocking the event loop: for commands that talk to a server running in
 * this process (a {@link startRepoServer} repository), which a blocked loop could not answer.
 */
export async function helmAsync(helmBin: string, args: string[], home: string): Promise<string> {
  const { stdout } = await promisify(execFile)(helmBin, args, { encoding: 'utf8', env: helmEnv(home), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

function helmEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}

/** A static Helm repository on loopback: serves `dir`, optionally behind basic auth, and logs requests. */
export interface RepoServer {
  url: string;
  requests: string[];
  /** Replace the body served for a path (to test digest checks). */
  override: Map<string, Uint8Array>;
  close(): Promise<void>;
}

export async function startRepoServer(dir: string, auth?: { username: string; password: string }): Promise<RepoServer> {
  const requests: string[] = [];
  const override = new Map<string, Uint8Array>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (auth) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end();
        return;
      }
    }
    try {
      if (path.includes('..')) throw new Error('no');
      const body = override.get(path) ?? readFileSync(join(dir, path));
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
